"""Small building blocks shared by the architectures (timm's ``layers/``)."""
