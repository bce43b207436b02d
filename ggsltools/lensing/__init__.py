"""Gravitational-lensing computations: mass profiles, LensTool models and maps.

Submodules are imported explicitly (``from ggsltools.lensing import profiles``);
this package module stays import-light.
"""

__all__ = []
