"""The main window: the shell that assembles the features, its actions and menus, Open Recent, the job indicator."""
