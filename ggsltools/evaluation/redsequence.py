"""The red sequence of cluster members and their normalised colour.

Angora et al. (2023, Sect. 4.3) normalise the colour of a member by the
colour-magnitude (CM) relation of its cluster (Girardi et al. 2015):
``(F606W - F814W)_norm = (F606W - F814W)_obs - CM(F814W)``, so that red members
lie around zero whatever the cluster redshift. The CM line is fitted to the
spectroscopic members with a robust linear regression that clips outliers, the
least-trimmed-squares (LTS) technique (Rousseeuw & Van Driessen 2006) as in
Cappellari et al. (2013).

`fit_red_sequence` runs its own FAST-LTS line fit (random two-point starts,
concentration steps, then iterative ``clip``-sigma clipping around the best
line, all with an explicit random generator). Cappellari's ``ltsfit`` package
(PyPI; free for non-commercial use only, not redistributable, so an optional
extra here) can be used instead with ``method="ltsfit"``.
"""

import contextlib
import io
import warnings
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..exceptions import InputError
from . import EvaluationWarning
from .metrics import _float_column

__all__ = ["RedSequenceFit", "fit_red_sequence", "normalised_colour"]

#: Fewest members a red-sequence fit accepts.
MIN_MEMBERS = 5


@dataclass(frozen=True)
class RedSequenceFit:
    """A straight colour-magnitude line ``colour = intercept + slope (mag - pivot)``.

    Attributes
    ----------
    slope : float
        Colour change per magnitude.
    intercept : float
        Colour at the pivot magnitude.
    pivot : float
        Reference magnitude (the median of the members).
    scatter : float
        Standard deviation of the kept members around the line (mag).
    inliers : `~numpy.ndarray` of bool
        The members kept by the fit (False for clipped outliers).
    method : str
        ``"lts"`` (this module's fit) or ``"ltsfit"`` (Cappellari's package).
    """

    slope: float
    intercept: float
    pivot: float
    scatter: float
    inliers: np.ndarray = field(repr=False)
    method: str = "lts"

    def __call__(self, magnitude):
        """Colour of the line at ``magnitude``."""
        return self.intercept + self.slope * (np.asarray(magnitude, dtype=float) - self.pivot)


def _ols(x, y):
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef


def _c_steps(x, y, coef, h, steps):
    for _ in range(steps):
        residual = np.abs(y - coef[0] - coef[1] * x)
        best = np.argpartition(residual, h - 1)[:h]
        new = _ols(x[best], y[best])
        if np.allclose(new, coef, rtol=0, atol=1e-12):
            break
        coef = new
    residual = y - coef[0] - coef[1] * x
    return coef, np.sort(residual**2)[:h].sum()


def _lts(x, y, *, frac, clip, rng, n_starts):
    n = x.size
    h = max(int(round(frac * n)), (n + 3) // 2)
    h = min(h, n)
    starts = []
    for _ in range(n_starts):
        i, j = rng.choice(n, 2, replace=False)
        if x[i] == x[j]:
            continue
        slope = (y[j] - y[i]) / (x[j] - x[i])
        coef, cost = _c_steps(x, y, np.array([y[i] - slope * x[i], slope]), h, 3)
        starts.append((cost, tuple(coef)))
    if not starts:
        raise InputError("the red-sequence fit needs members of at least two magnitudes")
    starts.sort(key=lambda s: s[0])
    best = min((_c_steps(x, y, np.array(c), h, 100) for _, c in starts[:10]), key=lambda s: s[1])[0]
    # clip around the LTS line, then refit on the kept points until nothing changes
    inliers = np.ones(n, dtype=bool)
    residual = y - best[0] - best[1] * x
    kept = np.sort(np.abs(residual))[:h]
    sigma = np.sqrt(np.mean(kept**2)) if kept.size else 0.0
    coef = best
    for _ in range(100):
        new = np.abs(residual) <= clip * max(sigma, 1e-12)
        if np.count_nonzero(new) < 2:
            break
        coef = _ols(x[new], y[new])
        residual = y - coef[0] - coef[1] * x
        sigma = np.std(residual[new], ddof=2) if np.count_nonzero(new) > 2 else 0.0
        if np.array_equal(new, inliers):
            break
        inliers = new
    return coef, sigma, inliers


def _ltsfit(x, y, *, sigma_colour, clip, frac, rng):
    from ltsfit.ltsfit import ltsfit

    # ltsfit draws from numpy's global generator: seed it, then restore it
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(int(rng.integers(2**32 - 1)))  # noqa: NPY002
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            fit = ltsfit(
                x,
                y,
                np.zeros_like(x),
                np.full_like(y, sigma_colour),
                clip=clip,
                frac=frac,
                pivot=0.0,
                plot=False,
            )
    finally:
        np.random.set_state(state)  # noqa: NPY002
    coef = np.asarray(fit.coef, dtype=float)
    residual = y - coef[0] - coef[1] * x
    mask = np.asarray(fit.mask, dtype=bool)
    return coef, float(np.std(residual[mask], ddof=2)), mask


def fit_red_sequence(
    magnitude,
    colour,
    *,
    clip=2.6,
    frac=0.5,
    rng,
    method="lts",
    n_starts=500,
    sigma_colour=0.02,
):
    """Fit the colour-magnitude line of cluster members robustly.

    Parameters
    ----------
    magnitude : array-like
        Red-band magnitudes of the members (e.g. F814W).
    colour : array-like
        Their colours (e.g. F606W - F814W). Rows where either is not finite are
        left out.
    clip : float, optional
        Members farther than ``clip`` standard deviations from the line are
        outliers (2.6: Cappellari et al. 2013).
    frac : float, optional
        Fraction of the members in the trimmed subset (0.5 tolerates up to half
        of them being outliers).
    rng : `numpy.random.Generator`
        Draws the random starting pairs.
    method : {"lts", "ltsfit"}, optional
        This module's LTS fit, or Cappellari's ``ltsfit`` package (optional; its
        ``sigma_colour`` is the colour uncertainty of every member).
    n_starts : int, optional
        Random starting pairs of the LTS fit.
    sigma_colour : float, optional
        Colour uncertainty given to ``ltsfit``.

    Returns
    -------
    fit : `RedSequenceFit`
        ``inliers`` has one entry per input row (False also for the rows left out).

    Raises
    ------
    InputError
        If fewer than five members have finite values, the arrays differ
        in length, or ``method`` is unknown.
    """
    if method not in ("lts", "ltsfit"):
        raise InputError(f"method={method!r} must be 'lts' or 'ltsfit'")
    if not 0.5 <= frac <= 1:
        raise InputError(f"frac={frac!r} must be in [0.5, 1]")
    magnitude = _float_column(magnitude, u.mag)
    colour = _float_column(colour, u.mag)
    if magnitude.shape != colour.shape:
        raise InputError(f"magnitudes {magnitude.shape} and colours {colour.shape} differ")
    finite = np.isfinite(magnitude) & np.isfinite(colour)
    if np.count_nonzero(finite) < MIN_MEMBERS:
        raise InputError(
            f"a red-sequence fit needs at least {MIN_MEMBERS} members with a magnitude "
            f"and a colour, got {np.count_nonzero(finite)}"
        )
    pivot = float(np.median(magnitude[finite]))
    x = magnitude[finite] - pivot
    y = colour[finite]
    if method == "lts":
        coef, scatter, kept = _lts(x, y, frac=frac, clip=clip, rng=rng, n_starts=n_starts)
    else:
        coef, scatter, kept = _ltsfit(
            x, y, sigma_colour=sigma_colour, clip=clip, frac=frac, rng=rng
        )
    inliers = np.zeros(magnitude.shape, dtype=bool)
    inliers[finite] = kept
    return RedSequenceFit(
        slope=float(coef[1]),
        intercept=float(coef[0]),
        pivot=pivot,
        scatter=float(scatter),
        inliers=inliers,
        method=method,
    )


def normalised_colour(
    members,
    *,
    blue="member_F606W",
    red="member_F814W",
    by="cluster",
    id_column="member_id",
    rng,
    **options,
):
    """Colours of members relative to the red sequence of their cluster.

    Each cluster's red sequence is fitted once to its distinct members (rows
    repeated in a knowledge base, e.g. the same member as a negative and as a
    lens, count once).

    Parameters
    ----------
    members : `~astropy.table.Table`
        Rows with the two magnitude columns (and ``by`` and ``id_column`` when
        given).
    blue, red : str, optional
        Magnitude columns; the colour is ``blue - red`` and the magnitude axis
        ``red``.
    by : str or None, optional
        Column whose groups get their own fit (a cluster name); None for one fit.
    id_column : str or None, optional
        Column identifying a member within a group, for de-duplication; None to
        use every row.
    rng : `numpy.random.Generator`
        Passed to `fit_red_sequence`.
    **options
        Passed to `fit_red_sequence`.

    Returns
    -------
    colour : `~numpy.ndarray`
        Normalised colour of each row (NaN without magnitudes, or in a group too
        small to fit, with a warning).
    fits : `~astropy.table.QTable`
        One row a group: ``group``, ``n_members``, ``n_inliers``, ``slope``,
        ``intercept``, ``pivot``, ``scatter``.

    Raises
    ------
    InputError
        If a column is missing.
    """
    for name in (blue, red, by, id_column):
        if name is not None and name not in members.colnames:
            raise InputError(f"the member table has no column {name!r}")

    def values(name):
        return _float_column(members[name], u.mag)

    mag_red, mag_blue = values(red), values(blue)
    colour = mag_blue - mag_red
    groups = np.asarray(members[by]).astype(str) if by is not None else np.full(len(members), "")
    out = np.full(len(members), np.nan)
    rows = {k: [] for k in ("group", "n_members", "n_inliers", "slope", "intercept", "pivot")}
    rows["scatter"] = []
    for group in np.unique(groups):
        in_group = np.flatnonzero(groups == group)
        if id_column is not None:
            ids = np.asarray(members[id_column]).astype(str)[in_group]
            _, first = np.unique(ids, return_index=True)
            fit_rows = in_group[np.sort(first)]
        else:
            fit_rows = in_group
        usable = np.isfinite(mag_red[fit_rows]) & np.isfinite(colour[fit_rows])
        if np.count_nonzero(usable) < MIN_MEMBERS:
            warnings.warn(
                f"group {group!r}: {np.count_nonzero(usable)} members with both magnitudes, "
                f"fewer than {MIN_MEMBERS}; their normalised colours are NaN",
                EvaluationWarning,
                stacklevel=2,
            )
            continue
        fit = fit_red_sequence(mag_red[fit_rows], colour[fit_rows], rng=rng, **options)
        out[in_group] = colour[in_group] - fit(mag_red[in_group])
        for key, value in (
            ("group", group),
            ("n_members", int(np.count_nonzero(usable))),
            ("n_inliers", int(np.count_nonzero(fit.inliers))),
            ("slope", fit.slope),
            ("intercept", fit.intercept),
            ("pivot", fit.pivot),
            ("scatter", fit.scatter),
        ):
            rows[key].append(value)
    fits = QTable(rows, dtype=[str, int, int, float, float, float, float])
    return out, fits
