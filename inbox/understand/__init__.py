"""Understanding a citizen's message: its service categories and intent (``classify``: word
lists from ``keywords.toml`` and a small linear model, ``model``), and the model's training on
the shipped labelled set plus the office's corrections (``training``).

Uses only the core (labels, personal data, the models for the office's corrections).
"""
