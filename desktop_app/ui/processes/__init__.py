"""The Processes dock: every process on the attached Redis namespace, alive or stopped, from its heartbeat.

``processes_model`` (the table's rows and columns), ``processes_dock`` (the dock, its hint and the
selection that shows a process's jobs in the Jobs dock).
Imports ``ui.common`` and ``ui.bridge`` (the fleet's data); no other feature folder.
"""
