"""`sample_sources`: draw a background-source catalogue for one cluster."""

import numpy as np

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError
from ..interfaces import SourcePopulation
from ..registry import get_plugin

__all__ = ["sample_sources"]


def sample_sources(
    n,
    *,
    z_cluster,
    seed,
    bands=("F435W", "F606W", "F814W"),
    population="sersic",
    z_offset=0.4,
    cosmology=DEFAULT_COSMOLOGY,
    **options,
):
    """Draw ``n`` background sources behind a cluster.

    Sources are drawn at z >= z_cluster + ``z_offset`` (0.4, following Meneghetti
    et al. 2022 as Angora et al. 2023 do).

    Parameters
    ----------
    n : int
        Number of sources.
    z_cluster : float
        Cluster redshift.
    seed : int or `numpy.random.SeedSequence`
        Seed of `numpy.random.default_rng`; the same seed gives the same table,
        byte for byte.
    bands : sequence of str, optional
        Bands to give magnitudes in (shipped filter names).
    population : str, type or `~ggsltools.interfaces.SourcePopulation`, optional
        A source-population plugin name (``"sersic"``, ``"clumpy"`` or any
        installed one) or class, built with ``bands``, ``cosmology`` and
        ``options``; or a ready population instance.
    z_offset : float, optional
        Minimum source redshift above the cluster's.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology for angular sizes.
    **options
        Keyword arguments of the population class (e.g. ``sed="SB1"``).

    Returns
    -------
    sources : `~astropy.table.QTable`
        The population's table; ``meta['provenance']`` also holds ``z_cluster``,
        ``z_offset`` and ``seed``.

    Raises
    ------
    InputError
        If ``z_cluster`` or ``z_offset`` is invalid, or options are given with a
        population instance.
    PluginError
        If no source population of that name is installed.
    """
    z_cluster = float(z_cluster)
    if not np.isfinite(z_cluster) or z_cluster < 0:
        raise InputError(f"z_cluster={z_cluster} must be a finite redshift >= 0")
    z_offset = float(z_offset)
    if not np.isfinite(z_offset) or z_offset < 0:
        raise InputError(f"z_offset={z_offset} must be >= 0")
    if isinstance(population, SourcePopulation):
        if options:
            raise InputError(
                f"options {sorted(options)} cannot be applied to a population instance"
            )
        pop = population
    else:
        pop = get_plugin("sources", population)(bands=bands, cosmology=cosmology, **options)
    rng = np.random.default_rng(seed)
    table = pop.sample(n, z_min=z_cluster + z_offset, rng=rng)
    provenance = dict(table.meta.get("provenance", {}))
    provenance.update(
        z_cluster=z_cluster,
        z_offset=z_offset,
        seed=seed if isinstance(seed, int) else repr(seed),
    )
    table.meta["provenance"] = provenance
    return table
