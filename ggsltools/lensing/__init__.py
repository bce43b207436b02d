"""Gravitational lensing: mass profiles, LensTool models, maps, critical lines.

Submodules are imported explicitly (``from ggsltools.lensing import critical``);
this package module stays import-light.
"""

__all__ = []
