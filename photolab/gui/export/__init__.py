"""File ▸ Export…: the export dialog and the export job."""
