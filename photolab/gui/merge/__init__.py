"""File ▸ Merge to HDR… and Merge Burst…: the dialog and the merge job."""
