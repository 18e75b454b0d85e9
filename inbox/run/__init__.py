"""What runs all day: the daemon's loop of small steps, polling, delivering, downloading and
every scheduled job (``daemon``), its heartbeat and the health a monitor reads (``health``),
and how it tells a lease of a dead worker (``liveness``).

Uses every wing below it, the recaps included; only the web and the command line are above.
"""
