"""What every command does before it starts work: ``config.toml`` read and checked (``config``),
the database's numbered migrations (``migrations``), logging with personal data masked
(``logs``), and the ``Runtime`` the command line, the daemon and the web share: config, open
database, calendar, ingest's options and one connector per account (``runtime``, also the
idempotent set-up behind ``aduan init``).

Uses the core, the classifier and the connectors' registry.
"""
