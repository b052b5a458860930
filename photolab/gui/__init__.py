"""The Qt front end, one sub-package per feature.

Only this package imports Qt. The window observes a plain document object (photolab.gui.document) and
edits its recipe through undo commands; every long computation is a photolab.jobs.Job.

Layout (lower layers never import higher ones; tests/gui/<feature> mirrors it):
  app.py        the ``photolab`` entry point: QApplication, theme, error reporter, the window
  window/       the shell on top: MainWindow, its menus and command API (menus.WindowCommands), Open Recent,
                the job indicator and the viewing tools (before/after, eyedropper, crop tool)
  develop/  classify/  attention/  finetune/  merge/
                the features: each builds its widgets and registers its commands with
                ``window.add_action(menu_id, name, action)`` and its long work with ``window.track_job``;
                they never import window/ (they are handed the window, or signals to connect)
  viewer/  models/  export/
                features the others build on: the viewer and preview rendering (the loupe too), the model
                service (chosen model, device, inference jobs) and the Model Manager, export and its file checks
  widgets/      small shared pieces: message boxes and file choosers (dialogs), QAction helpers, sliders
  jobs.py, document.py, undo.py, theme.py
                the base every layer may use: Jobs on thread pools, the open photo, undo commands, the palette
"""
