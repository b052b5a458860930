"""Training on the user's photos: folder datasets and their checks, the seeded split, the training loop,
fine-tuning strategies, few-shot adaptation and linear probes."""
