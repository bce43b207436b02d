"""`sample_sources`: draw a background-source catalogue for one cluster."""

import numpy as np

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError
from ..interfaces import SourcePopulation

__all__ = ["BUILTIN_POPULATIONS", "sample_sources"]

#: Population plugins shipped with ggsltools, by plugin name.
BUILTIN_POPULATIONS = ("sersic", "clumpy")


def _population_class(name):
    from ..plugins.sources import ClumpySersicPopulation, SersicPopulation

    classes = {"sersic": SersicPopulation, "clumpy": ClumpySersicPopulation}
    if name not in classes:
        raise InputError(
            f"unknown source population {name!r}: built-in populations are "
            f"{', '.join(BUILTIN_POPULATIONS)}; pass an instance for others"
        )
    return classes[name]


def sample_sources(n, *, z_cluster, seed, bands=("F435W", "F606W", "F814W"),
                   population="sersic", z_offset=0.4, cosmology=DEFAULT_COSMOLOGY,
                   **options):
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
    population : str or `~ggsltools.interfaces.SourcePopulation`, optional
        ``"sersic"`` or ``"clumpy"`` (built with ``bands``, ``cosmology`` and
        ``options``), or a ready population instance.
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
        If ``z_cluster`` or ``z_offset`` is invalid, the population is unknown, or
        options are given with a population instance.
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
        pop = _population_class(population)(bands=bands, cosmology=cosmology, **options)
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
