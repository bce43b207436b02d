"""Lensing maths on grids: maps, critical lines, caustics and cross-sections."""

__all__ = []
