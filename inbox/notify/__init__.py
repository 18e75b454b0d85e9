"""Telling officers what waits for them: who is told of which event (``notices``), the
channels it goes out on, e-mail and Telegram (``channels``), and sending the queued
notifications with the deadline reminders (``sending``).

Uses the core, the connectors (to send) and the setup.
"""
