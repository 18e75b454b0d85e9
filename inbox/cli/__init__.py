"""The ``aduan`` command line: ``main`` turns every mistake into one line; ``commands`` builds
the parser and holds the core commands (init, run, worker, poll, import, user), and one module
per area holds its own (``cases``, ``recaps``, ``status``, ``export``, ``backups``,
``privacy``, ``classifier``, ``serve``, ``service``, ``webhook_check``, ``reprocess``), with
``common`` shared by all of them.

The top wing: it may use every other; ``main.py`` only hands ``argv`` to it.
"""
