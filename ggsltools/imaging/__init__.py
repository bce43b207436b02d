"""Images: multi-band image sets, cutouts (and, later, PSFs and convolution)."""

__all__ = []
