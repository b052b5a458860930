"""The folder workflow in the window: Open Folder, the filmstrip, ratings, batch export and batch paste."""
