"""Lens-model plugins: LensTool parameter files and analytic composite lenses.

- `LensToolParModel` (entry point ``lenstool-par``): every potential of a LensTool
  ``.par`` file, summed with LensTool's own conventions and constants;
- `AnalyticLensModel` (entry point ``analytic``): a sum of SIS, SIE, dPIE, NFW and
  external-shear components given in Python, for tests, demos and toy lenses.

Both have analytic second derivatives of the potential.
"""

import math

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError
from ..interfaces import LensModel
from ..lensing import profiles
from ..lensing.lenstool import (
    NearFarSum,
    dimensionless_distance,
    lenstool_b0,
    member_table,
    read_par,
    sum_deflection,
    sum_hessian,
)
from ..units import to_arcsec

__all__ = ["LensToolParModel", "AnalyticLensModel"]


class _PotentialSumModel(LensModel):
    """A lens model that is a weighted sum of LensTool potentials.

    Subclasses set ``self._potentials`` (a potentials table, see
    `~ggsltools.lensing.lenstool.LensToolModel`) through `_set_potentials` and
    implement ``_weights(z_source)``, one factor D_LS/D_S a potential. The exact
    sums (`deflection_arcsec`, `hessian_arcsec`) and the near/far split of the
    grid methods (`~ggsltools.lensing.lenstool.NearFarSum`) are shared.
    """

    #: The grid methods take any positions (see `ggsltools.lensing.maps`).
    grid_methods_take_points = True

    def _set_potentials(self, potentials, *, chunk, spacing):
        self._potentials = potentials
        self._chunk = int(chunk)
        self._near_far = NearFarSum(potentials, spacing=spacing, chunk=chunk)

    @property
    def potentials(self):
        """The potentials summed (`~astropy.table.QTable`, LensTool's columns)."""
        return self._potentials

    def component_centres(self):
        """Centres of the potentials, where the lensing field varies fastest.

        Returns
        -------
        x, y : `~numpy.ndarray`
            Model-frame positions in arcsec.
        """
        return (
            np.asarray(self._potentials["x"].to_value(u.arcsec), dtype=float),
            np.asarray(self._potentials["y"].to_value(u.arcsec), dtype=float),
        )

    def deflection_arcsec(self, x, y, *, z_source):
        """Deflection in arcsec, every potential summed exactly; shape ``(2,) + x.shape``."""
        return sum_deflection(
            self._potentials, x, y, weights=self._weights(z_source), chunk=self._chunk
        )

    def hessian_arcsec(self, x, y, *, z_source, step=None):
        """Analytic second derivatives, shape ``(3,) + x.shape``; ``step`` is unused."""
        return sum_hessian(
            self._potentials, x, y, weights=self._weights(z_source), chunk=self._chunk
        )

    def deflection_grid_arcsec(self, x, y, *, z_source, progress=False):
        """Deflection at many positions, near/far split; shape ``(2,) + x.shape``.

        Parameters
        ----------
        x, y : `~numpy.ndarray`
            Positions in arcsec in the model's frame: the pixels of a grid, or any
            other set of positions.
        z_source : float
            Source redshift.
        progress : bool, optional
            Show a progress bar.

        Returns
        -------
        alpha : `~numpy.ndarray`
            Deflection in arcsec, within ~5e-6 arcsec of `deflection_arcsec` (see
            `~ggsltools.lensing.lenstool.NearFarSum`).
        """
        return self._near_far.evaluate("d", x, y, self._weights(z_source), progress=progress)

    def hessian_grid_arcsec(self, x, y, *, z_source, progress=False):
        """Second derivatives at many positions, near/far split; ``(3,) + x.shape``.

        Parameters are those of `deflection_grid_arcsec`; the result is within
        ~2e-7 of `hessian_arcsec`.
        """
        return self._near_far.evaluate("h", x, y, self._weights(z_source), progress=progress)


class LensToolParModel(_PotentialSumModel):
    """A LensTool model read from a ``.par`` file.

    Deflections are LensTool's ``e_grad`` summed over the potentials, each
    multiplied by D_LS/D_S of its redshift for the source redshift; the lens plane
    is the redshift of the first potential. A model with potentials at several
    redshifts is not `single_plane`: critical lines and cross-sections evaluate
    it for each source redshift.

    `deflection_arcsec` and `hessian_arcsec` sum every potential exactly.
    `deflection_grid_arcsec` and `hessian_grid_arcsec`, for many positions (maps,
    critical-line windows), sum each potential exactly only near its centre and
    interpolate the smooth far contributions from cached lattices
    (`~ggsltools.lensing.lenstool.NearFarSum`): on the Abell 2744 model they
    agree with the exact sums within 2e-7 in the second derivatives and 5e-6
    arcsec in the deflections; for the deflections of a 2048 x 2048 grid they are
    7-15 times faster than the exact sums.

    Parameters
    ----------
    parsed : `~ggsltools.lensing.lenstool.LensToolModel`
        The parsed file (see `read`).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology for distance ratios; the file's by default.
    chunk : int, optional
        Pixels evaluated at once.
    spacing : float, optional
        Spacing in arcsec of the finest lattice of the grid methods (see
        `~ggsltools.lensing.lenstool.NearFarSum`).
    """

    description = "LensTool parameter file (.par) with its potfiles"

    def __init__(self, parsed, *, cosmology=None, chunk=65536, spacing=0.1):
        center = parsed.reference
        if center is None:
            center = SkyCoord(0 * u.deg, 0 * u.deg, frame="icrs")
        super().__init__(
            z_lens=float(parsed.potentials["z_lens"][0]),
            center=center,
            cosmology=cosmology if cosmology is not None else parsed.cosmology,
        )
        self.parsed = parsed
        self._weights_cache = {}
        self._set_potentials(parsed.potentials, chunk=chunk, spacing=spacing)

    @classmethod
    def read(cls, path, *, cosmology=None, chunk=65536):
        """Read a ``.par`` file (see `~ggsltools.lensing.lenstool.read_par`)."""
        return cls(read_par(path), cosmology=cosmology, chunk=chunk)

    @property
    def single_plane(self):
        """Whether every potential has the same ``z_lens`` (bool)."""
        return len(set(np.asarray(self.parsed.potentials["z_lens"], dtype=float).tolist())) == 1

    def members(self, *, max_core=1.0 * u.arcsec, max_cut=100.0 * u.arcsec):
        """The model's galaxy-scale potentials as a member catalogue.

        See `~ggsltools.lensing.lenstool.member_table`; the table has ``id``,
        ``ra``, ``dec``, ``x``, ``y``, ``mag``, ``v_disp``, ``b0``, ``r_core`` and
        ``r_cut`` columns and can be passed as ``members`` to the critical-line
        and cross-section functions.
        """
        return member_table(self.parsed, max_core=max_core, max_cut=max_cut)

    def _weights(self, z_source):
        z_source = float(z_source)
        self.distance_ratio(z_source)
        if z_source not in self._weights_cache:
            zl = np.asarray(self.parsed.potentials["z_lens"], dtype=float)
            dos = dimensionless_distance(self.cosmology, z_source)
            ratios = {
                z: dimensionless_distance(self.cosmology, z, z_source) / dos
                for z in set(zl.tolist())
            }
            self._weights_cache[z_source] = np.array([ratios[z] for z in zl])
        return self._weights_cache[z_source]


_KINDS = {
    "sis": ("theta_e",),
    "sie": ("theta_e", "e"),
    "dpie": ("v_disp", "r_core", "r_cut", "e"),
    "nfw": ("v_disp", "r_s", "e"),
    "shear": ("gamma",),
}


def _arcsec(spec, key, index):
    return to_arcsec(spec[key], name=f"component {index}: {key}", scalar=True)


class AnalyticLensModel(_PotentialSumModel):
    """A composite of analytic lens components.

    The components are held as a LensTool potentials table (`potentials`: SIS
    and SIE as profil 1 and -1, dPIE 81, NFW 12, external shear 14) and
    evaluated by the code that evaluates `LensToolParModel`: exact sums in
    `deflection_arcsec` and `hessian_arcsec`, the near/far split of
    `~ggsltools.lensing.lenstool.NearFarSum` in `deflection_grid_arcsec` and
    `hessian_grid_arcsec` (maps and critical lines).

    Parameters
    ----------
    components : list of dict
        One dict a component with ``kind`` and its parameters:

        - ``'sis'``: ``theta_e`` (angle);
        - ``'sie'``: ``theta_e`` (angle, of its circular limit), ``e``
          (LensTool ellipticity (a^2 - b^2)/(a^2 + b^2)), ``angle``;
        - ``'dpie'``: ``v_disp`` (km/s, LensTool's sigma), ``r_core``, ``r_cut``
          (angles), ``e``, ``angle``;
        - ``'nfw'``: ``v_disp`` (km/s, LensTool's sigma_s), ``r_s`` (angle), ``e``
          (of the potential), ``angle``;
        - ``'shear'``: ``gamma``, ``angle``.

        Every component takes optional ``x``, ``y`` (angles, default 0) and
        ``angle`` (angle counter-clockwise from x, default 0). Strengths are for
        D_LS/D_S = 1: deflections scale with D_LS/D_S of the source redshift.
    z_lens : float
        Lens redshift.
    center : `~astropy.coordinates.SkyCoord`, optional
        Reference sky position; (0, 0) by default.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology for D_LS/D_S.
    spacing : float, optional
        Spacing in arcsec of the finest lattice of the grid methods (see
        `~ggsltools.lensing.lenstool.NearFarSum`).

    Raises
    ------
    InputError
        For an unknown kind, a missing or non-angular parameter.
    """

    description = "Analytic composite lens (SIS, SIE, dPIE, NFW, external shear)"

    def __init__(
        self, components, *, z_lens, center=None, cosmology=DEFAULT_COSMOLOGY, spacing=0.1
    ):
        if center is None:
            center = SkyCoord(0 * u.deg, 0 * u.deg, frame="icrs")
        super().__init__(z_lens=z_lens, center=center, cosmology=cosmology)
        rows = [self._parse(i, dict(spec)) for i, spec in enumerate(components)]
        self._set_potentials(_potentials_table(rows), chunk=65536, spacing=spacing)

    @staticmethod
    def _parse(index, spec):
        """(profil, x, y, e, eps, angle in deg, r_core, r_cut, b0) of one component."""
        kind = spec.pop("kind", None)
        if kind not in _KINDS:
            raise InputError(f"component {index}: kind={kind!r} unknown ({sorted(_KINDS)})")
        x0 = _arcsec(spec, "x", index) if "x" in spec else 0.0
        y0 = _arcsec(spec, "y", index) if "y" in spec else 0.0
        angle = spec.get("angle", 0.0)
        angle = angle.to_value(u.deg) if isinstance(angle, u.Quantity) else float(angle)
        for key in _KINDS[kind]:
            if key not in spec and key != "e":
                raise InputError(f"component {index} ({kind}) needs {key!r}")
        e = float(spec.get("e", 0.0))
        if not 0 <= e < 1:
            raise InputError(f"component {index}: e={e} must be in [0, 1)")
        if kind == "sis":
            return (1, x0, y0, 0.0, 0.0, 0.0, 0.0, math.inf, _arcsec(spec, "theta_e", index))
        eps = float(profiles.ellipticity_to_eps(e))
        if kind == "sie":
            theta_e = _arcsec(spec, "theta_e", index)
            return (-1, x0, y0, e, eps, angle, 0.0, math.inf, theta_e)
        if kind == "shear":
            return (14, x0, y0, float(spec["gamma"]), 0.0, angle, 0.0, math.inf, 0.0)
        v = spec["v_disp"]
        v = float(v.to_value(u.km / u.s)) if isinstance(v, u.Quantity) else float(v)
        b0 = float(lenstool_b0(v))
        if kind == "nfw":
            return (12, x0, y0, e, 0.0, angle, _arcsec(spec, "r_s", index), math.inf, b0)
        rc = _arcsec(spec, "r_core", index)
        rcut = _arcsec(spec, "r_cut", index)
        if not rcut > rc >= 0:
            raise InputError(f"component {index}: need 0 <= r_core < r_cut, got {rc}, {rcut}")
        return (81, x0, y0, e, eps, angle, rc, rcut, b0)

    def _weights(self, z_source):
        return np.full(len(self._potentials), self.distance_ratio(z_source))


def _potentials_table(rows):
    """A potentials table (the columns `~ggsltools.lensing.lenstool.LensToolModel` has)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    profile, x, y, e, eps, angle, r_core, r_cut, b0 = (np.array(c, dtype=float) for c in columns)
    table = QTable()
    table["id"] = [str(i + 1) for i in range(len(rows))]
    table["profile"] = profile.astype(int)
    table["x"] = x * u.arcsec
    table["y"] = y * u.arcsec
    table["ellipticity"] = e
    table["eps"] = eps
    table["angle"] = angle * u.deg
    table["r_core"] = r_core * u.arcsec
    table["r_cut"] = r_cut * u.arcsec
    table["b0"] = b0 * u.arcsec
    return table
