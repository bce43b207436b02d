"""Background-source models: the Sersic profile and source-population sampling.

- `~ggsltools.sources.sersic`: the Sersic profile (b_n, normalisation, fast
  evaluation on float32 arrays);
- `~ggsltools.sources.counts`: galaxy number counts and magnitude sampling;
- `~ggsltools.sources.redshifts`: p(z | magnitude bin) and redshift sampling;
- `~ggsltools.sources.sizes`: the effective-radius evolution with redshift;
- `~ggsltools.sources.sampling`: `sample_sources`, the entry point the command
  line uses;
- `~ggsltools.sources.plotting`: `plot_population`.

The population plugins themselves live in `ggsltools.plugins.sources`. Names are
imported from their submodules on first use.
"""

import importlib

_SUBMODULE_OF = {
    "sersic_bn": "sersic",
    "ciotti_bertin_bn": "sersic",
    "sersic_total_flux": "sersic",
    "sersic_amplitude": "sersic",
    "sersic_profile": "sersic",
    "SersicCoefficients": "sersic",
    "sersic_coefficients": "sersic",
    "sersic_from_normalised": "sersic",
    "elliptical_radius": "sersic",
    "NumberCounts": "counts",
    "RedshiftModel": "redshifts",
    "z0_from_median": "redshifts",
    "SizeRelation": "sizes",
    "sample_sources": "sampling",
    "plot_population": "plotting",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name):
    if name in _SUBMODULE_OF:
        module = importlib.import_module(f".{_SUBMODULE_OF[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
