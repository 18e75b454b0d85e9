"""The inbox: everything between the platforms' connectors and the recaps, in wings.

The root holds the core every wing uses: the data model and database (``models``, ``db``),
dates and the working-day calendar (``dates``, ``sla``), personal data (``pii``), the words an
officer reads (``labels``), passwords and the claim-and-lease machinery (``leases``), and the
one cleaning step for untrusted text on its way to a document or a terminal (``text``). Each wing
is a subpackage whose ``__init__`` says what it is for. ``WINGS`` is their order, bottom
first: a module imports only from its own wing or a wing below it, never from one above, and
no import goes round in a circle (``tests/test_structure.py`` checks both, imports inside
functions included). The README's "Where things are" is the map for a newcomer.
"""

#: Bottom first. ``connectors`` and ``recap`` are top-level packages with their place here;
#: ``main`` is the command line's entry point.
WINGS: tuple[str, ...] = (
    "inbox",             # the core: models, db, dates, sla, pii, labels, passwords, leases, text
    "inbox.understand",  # what a message is about and wants: classifier, model, training
    "connectors",        # one module per platform; base.py is the contract
    "inbox.setup",       # config.toml, migrations, logging, the Runtime every command shares
    "inbox.notify",      # who is told what, on which channel, and sending it
    "inbox.arrive",      # messages coming in: ingest, webhooks, attachments, set-aside items
    "inbox.sop",         # the SOP's workflow and the reply outbox
    "inbox.records",     # backups, restore, retention and erasure
    "recap",             # the daily recap and the monthly report
    "inbox.run",         # the daemon, its heartbeat and health
    "inbox.web",         # the web inbox
    "inbox.cli",         # the aduan command line
    "main",
)
