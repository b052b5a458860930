"""The window's side of the models: the model service (chosen model, device, inference jobs) and the Model Manager dialog."""
