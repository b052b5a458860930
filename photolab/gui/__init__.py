"""The Qt front end: main window, viewer, panels and the adapter that runs Jobs on a thread pool.

Only this package imports Qt. The window observes a plain document object (photolab.gui.document) and
edits its recipe through undo commands; every long computation is a photolab.jobs.Job.
"""
