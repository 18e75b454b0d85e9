"""The SOP's steps 2-4 after arrival: every state change of a case by the role allowed to make
it (``workflow``), and the reply outbox that delivers each answer exactly once (``outbox``);
the answers' sources and shortcuts: the knowledge base (``knowledge``), suggested answers on a
case (``suggestions``), mass incidents answered at once (``incidents``, ``incident_watch``), and
a citizen's cases on other channels (``related``).

Uses every wing below it, up to arrival (a reopened or recategorised case).
"""
