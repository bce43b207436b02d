"""ggsltools: find galaxy-galaxy strong lenses in HST images of galaxy clusters."""

from .version import __version__

__all__ = ["__version__"]
