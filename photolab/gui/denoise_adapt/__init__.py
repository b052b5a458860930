"""Models ▸ Adapt Denoiser to My Camera…"""
