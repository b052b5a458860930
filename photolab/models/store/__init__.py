"""The model store and runtime: ``ModelManager`` (cards, safetensors weights, cache, device, checksum) for every
model, the denoiser included; importing, downloading and exporting weights; timm checkpoints."""
