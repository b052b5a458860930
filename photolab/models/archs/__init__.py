"""Network architectures, one family per module (timm's layout); build them through ``photolab.models.registry``."""
