"""The web inbox: pages for every role, served by waitress beside the daemon.

``app.create_app(rt)`` builds the Flask app; one module per area holds a blueprint (``cases``,
``case_page``, ``dashboard``, ``recaps``, ``admin``, ...), with the shared page helpers in
``display``, ``queries``, ``params`` and ``current``; templates and static files sit beside
them. It may use every wing below it (the SOP, records, recaps, run's health); only the
command line (``inbox.cli``) is above it.
"""
