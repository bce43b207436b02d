"""Images: multi-band image sets, reading and writing, PSFs, convolution, cutouts."""

__all__ = []
