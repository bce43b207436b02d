"""Photometry: filters, SED templates, IGM attenuation, AB magnitudes and zeropoints.

The public names below are imported from their submodules on first use, so that
``import ggsltools.photometry`` stays cheap:

- `~ggsltools.photometry.filters`: `Bandpass`, `load_filter`, `read_bandpass`;
- `~ggsltools.photometry.sed`: `Sed`, `load_sed`, `read_sed`;
- `~ggsltools.photometry.igm`: `madau_transmission`, `madau_optical_depth`;
- `~ggsltools.photometry.magnitudes`: `ab_magnitude`, `band_flux_grid`,
  `colour_grid`;
- `~ggsltools.photometry.zeropoints`: `ab_zeropoint`, `zeropoint_from_header`,
  `counts_per_maggy`, `magnitude_to_counts`, `counts_to_magnitude`.
"""

import importlib

_SUBMODULE_OF = {
    "Bandpass": "filters",
    "SHIPPED_FILTERS": "filters",
    "load_filter": "filters",
    "read_bandpass": "filters",
    "FLAM": "sed",
    "SHIPPED_SEDS": "sed",
    "Sed": "sed",
    "load_sed": "sed",
    "read_sed": "sed",
    "madau_optical_depth": "igm",
    "madau_transmission": "igm",
    "ab_magnitude": "magnitudes",
    "band_flux_grid": "magnitudes",
    "colour_grid": "magnitudes",
    "ab_zeropoint": "zeropoints",
    "zeropoint_from_header": "zeropoints",
    "counts_per_maggy": "zeropoints",
    "magnitude_to_counts": "zeropoints",
    "counts_to_magnitude": "zeropoints",
}

__all__ = sorted(_SUBMODULE_OF)


def __getattr__(name):
    if name in _SUBMODULE_OF:
        module = importlib.import_module(f".{_SUBMODULE_OF[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
