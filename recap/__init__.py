"""The daily recap (rekap harian) and the monthly report (laporan bulanan), SOP step 5.

Entry points: ``recap.make.make_daily_recap``, ``recap.make.make_monthly_report``,
``recap.schedule.schedule_recaps`` (the daemon) and ``inbox.cli.recaps`` (``aduan recap``). The
counting lives in ``recap.figures``; ``recap.document`` is the layout every writer (``pdf``,
``html``, ``xlsx``) renders the same way.
"""
