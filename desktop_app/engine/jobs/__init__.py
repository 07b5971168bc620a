"""Jobs that run beside the state: the shared job base (event, counters, registry), what timers and
schedules share (``pooled_jobs``), interval timers, cron schedules with Pode's cron dialect, and
the daemon thread pools they run on.

Imports ``engine.state``/``engine.locks`` types and the leaf ``engine.http.messages``; never ``engine.server``
at import time (a ``JobHost`` protocol in ``job.py`` stands for it), never Qt.
"""
