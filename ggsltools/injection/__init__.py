"""Injection of simulated galaxy-galaxy strong lenses into real images.

- `ggsltools.injection.stamps`: stamp boxes, supersampled ray-shooting grids,
  the deflection cache, caustic regions and image counting;
- `ggsltools.injection.driver`: `~ggsltools.injection.driver.inject_lenses`,
  which injects many lenses into one set of images.

Images are dicts band -> `~astropy.nddata.NDData` on one pixel grid, with a
``unit`` (electron/s, or electron with an exposure time) and
``meta["zeropoint"]`` (AB magnitude of one count per second), as
`~ggsltools.imaging.io.read_image` gives them. The injector plugins live in
`ggsltools.plugins.injector`.
"""

__all__ = []
