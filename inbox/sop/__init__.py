"""The SOP's steps 2-4 after arrival: every state change of a case by the role allowed to make
it (``workflow``), and the reply outbox that delivers each answer exactly once (``outbox``).

Uses every wing below it, up to arrival (a reopened or recategorised case).
"""
