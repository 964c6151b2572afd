"""stngan: inpainting of privacy-masked faces in images and videos (STN-GAN)."""
__version__ = "0.1.0"
