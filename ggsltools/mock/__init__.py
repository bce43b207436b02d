"""Synthetic galaxy-cluster lenses written as LensTool files.

`ggsltools.mock.cluster.make_cluster` draws a cluster lens (a cluster-scale dPIE
halo, optionally a group-scale halo and a BCG, and a population of cluster members
following LensTool's scaling relations); `~ggsltools.mock.cluster.write_lenstool`
writes it as a LensTool ``.par`` file with its potfile member catalogue, an ECSV
member catalogue and, optionally, ``dpl`` deflection maps;
`~ggsltools.mock.cluster.write_mock_cluster` does both in one call. The files are
read back by the same readers as a user's own LensTool model.

The mock is a lens model only: it has no images. Cutouts and injected sources
come from other parts of the package.

Submodules are imported explicitly (``from ggsltools.mock import cluster``); this
package module stays import-light.
"""

__all__ = []
