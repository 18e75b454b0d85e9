"""The office's records kept safe: backups made, checked and rotated (``backup``,
``schedule``; the archive's format and its checks in ``archive``), restored (``restore``), and personal data reduced after the retention period or
erased on request (``retention``).

Uses every wing below it; the recaps and everything that runs are above it.
"""
