"""Synthetic galaxy clusters: a lens model and HST-like images of it.

- `ggsltools.mock.cluster`: `~ggsltools.mock.cluster.make_cluster` draws a cluster
  lens (a cluster-scale dPIE halo, optionally a group-scale halo and a BCG, and
  members following LensTool's scaling relations);
  `~ggsltools.mock.cluster.write_mock_cluster` writes it as a LensTool ``.par`` file
  with its potfile member catalogue, an ECSV member catalogue and, optionally,
  ``dpl`` deflection maps, read back by the same readers as a user's own model.
- `ggsltools.mock.field`: `~ggsltools.mock.field.make_field` renders HST ACS
  F435W/F606W/F814W images of that cluster at Frontier Fields depth (red-sequence
  members, a BCG with intracluster light, interlopers and background galaxies, PSFs
  and noise); `~ggsltools.mock.field.write_mock_field` writes the lens files, the
  images with HST-like headers, the member catalogue and an RGB preview. The images
  hold no lensed arcs: the injector adds those.

This is the built-in demo data. Submodules are imported explicitly (``from
ggsltools.mock import field``); this package module stays import-light.
"""

__all__ = []
