"""The application shell: app start (qasync loop), main window, menus, status bar, log dock, save dialog.

``main_window`` (docks, server control, settings), ``state_file_flows`` (open / save / recent state
files, mixed into the window), ``window_menus`` (the menu bar), ``status_bar``, ``log_dock``,
``save_dialog``, ``app`` (QApplication, qasync, self-test).
The composition root of the GUI: may import every other ui package and the engine.
"""
