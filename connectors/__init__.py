"""One module per platform, each a small class on the contract in ``base`` (the normalised
message, the one error type, the ``Connector`` base); ``registry`` maps each account kind to
its class, third-party ones included.

Connectors never touch the database: they use only the core's personal-data masking
(``inbox.pii``) and each other's shared pieces (``graph`` for Meta, ``items``, ``downloads``).
"""
