"""Understanding a citizen's message: its service categories and intent (``classify``: word
lists from ``keywords.toml`` and a small linear model, ``model``), and the model's training on
the shipped labelled set plus the office's corrections (``training``); how alike two messages
are (``textsim``), and what follows from it: suggested answers (``suggest``, ``past_answers``),
messages about one outage (``outage``), and the optional local model's wording (``wording``).

Uses only the core (labels, personal data, the models for the office's corrections).
"""
