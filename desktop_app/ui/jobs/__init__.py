"""The Jobs dock: timers, schedules and routes.

``jobs_dock`` (the dock and its actions), ``jobs_model`` (sampled rows and table models),
``job_tables`` (table look and column widths), ``job_dialogs`` (traceback, interval/cron editor),
``job_format`` (times in words).
Imports ``ui.common`` and engine types; no other feature folder.
"""
