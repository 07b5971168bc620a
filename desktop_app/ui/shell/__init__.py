"""The application shell: app start (qasync loop), main window, menus, status bar, log dock, save dialog.

The composition root of the GUI: may import every other ui package and the engine.
"""
