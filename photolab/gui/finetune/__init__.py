"""The fine-tuning wizard (Models ▸ Train Classifier…): pages, live training curves, results."""
