"""Einstein radii of galaxy-scale lenses against the member scaling relation.

Angora et al. (2023, Sect. 3.1, Fig. 4 right) check that the secondary critical
lines of their simulated lenses follow the velocity-dispersion scaling relation
of the cluster members used in the lens models,
``sigma_i = sigma_ref (L_i / L_ref)^alpha``, through the Einstein radius of a
singular isothermal sphere (SIS):

    theta_E = 4 pi (sigma_ref / c)^2 (D_LS / D_S) 10^(0.8 alpha (m_ref - m_i)).

LensTool writes the relation as ``sigma = sigma_ref 10^(0.4 (mag0 - mag) /
vdslope)``, i.e. alpha = 1 / vdslope. Its dPIE potentials have the strength
b0 = 6 pi (sigma / c)^2 (see `~ggsltools.lensing.lenstool.lenstool_b0`), so a
LensTool member with vanishing core and infinite cut radius has 3/2 of the SIS
Einstein radius of the same sigma: ``convention="dpie"`` gives that prediction.
"""

import astropy.constants as const
import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..cosmology import DEFAULT_COSMOLOGY, distance_ratio
from ..exceptions import InputError

__all__ = ["member_relation", "scaling_relation_check", "sis_einstein_radius"]

_FACTORS = {"sis": 4.0 * np.pi, "dpie": 6.0 * np.pi}


def sis_einstein_radius(sigma, *, z_lens, z_source, cosmology=DEFAULT_COSMOLOGY, convention="sis"):
    """Einstein radius of an isothermal lens of velocity dispersion ``sigma``.

    Parameters
    ----------
    sigma : `~astropy.units.Quantity`
        Velocity dispersion(s).
    z_lens, z_source : float
        Lens and source redshifts.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        For D_LS / D_S.
    convention : {"sis", "dpie"}, optional
        4 pi (sigma/c)^2 D_LS/D_S (SIS), or LensTool's dPIE normalisation
        6 pi (sigma/c)^2 D_LS/D_S.

    Returns
    -------
    theta_e : `~astropy.units.Quantity`
        In arcsec.

    Raises
    ------
    InputError
        If ``sigma`` is not a velocity, ``z_source`` <= ``z_lens`` or the
        convention is unknown.
    """
    if convention not in _FACTORS:
        raise InputError(f"convention={convention!r} must be one of {sorted(_FACTORS)}")
    try:
        beta = (u.Quantity(sigma) / const.c).to_value(u.dimensionless_unscaled)
    except u.UnitConversionError:
        raise InputError(f"sigma={sigma!r} must be a velocity") from None
    ratio = distance_ratio(z_lens, z_source, cosmology=cosmology)
    return (_FACTORS[convention] * beta**2 * ratio * u.rad).to(u.arcsec)


def member_relation(potentials, *, origin="potfile"):
    """The sigma-magnitude relation of a LensTool model's scaled members.

    LensTool scales every potfile member as ``sigma = sigma_ref 10^(0.4 (mag_ref
    - mag) / vdslope)``; the relation is read back from the members themselves
    (a straight line in log sigma against magnitude, exact for LensTool models).

    Parameters
    ----------
    potentials : `~astropy.table.Table`
        The ``potentials`` table of a `~ggsltools.lensing.lenstool.LensToolModel`
        (columns ``mag``, ``v_disp``, ``origin``).
    origin : str or None, optional
        Rows used (``origin`` column); None for every row with a magnitude.

    Returns
    -------
    relation : dict
        ``mag_ref`` (the brightest member's magnitude), ``sigma_ref``
        (Quantity, km/s, at ``mag_ref``) and ``vdslope``.

    Raises
    ------
    InputError
        If fewer than two members of different magnitudes are found.
    """
    mag = np.asarray(potentials["mag"], dtype=float)
    sigma = u.Quantity(potentials["v_disp"], u.km / u.s).value
    keep = (mag != 0) & np.isfinite(mag) & (sigma > 0)
    if origin is not None:
        keep &= np.asarray(potentials["origin"]).astype(str) == origin
    if np.unique(mag[keep]).size < 2:
        raise InputError("the scaling relation needs members of at least two magnitudes")
    slope, intercept = np.polyfit(mag[keep], np.log10(sigma[keep]), 1)
    if slope >= 0:
        raise InputError("the members' velocity dispersion does not decrease with magnitude")
    mag_ref = float(mag[keep].min())
    return {
        "mag_ref": mag_ref,
        "sigma_ref": 10 ** (intercept + slope * mag_ref) * u.km / u.s,
        "vdslope": float(-0.4 / slope),
    }


def scaling_relation_check(
    lines,
    members,
    *,
    relation,
    z_source=None,
    magnitude_column="mag",
    id_column="id",
    cosmology=DEFAULT_COSMOLOGY,
    convention="sis",
):
    """Einstein radii of secondary critical lines against the scaling-relation prediction.

    Parameters
    ----------
    lines : `~astropy.table.Table`
        Critical lines with members assigned (``member`` and ``theta_e``
        columns; e.g. `~ggsltools.lensing.critical.select_secondary` of
        `~ggsltools.lensing.critical.assign_members`); ``meta['z_lens']`` and
        ``meta['z_source']`` unless given.
    members : `~astropy.table.Table`
        Member catalogue with ids and magnitudes.
    relation : dict
        ``mag_ref``, ``sigma_ref`` (Quantity) and ``vdslope`` (from
        `member_relation`, or the model's potfile ``mag0``, ``sigma``, ``vdslope``).
    z_source : float, optional
        Source redshift of the lines (default ``lines.meta['z_source']``).
    magnitude_column, id_column : str, optional
        Columns of ``members``.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        For D_LS / D_S.
    convention : {"sis", "dpie"}, optional
        See `sis_einstein_radius`.

    Returns
    -------
    check : `~astropy.table.QTable`
        One row a line with a member: ``line_id``, ``member``, ``mag``,
        ``theta_e`` (measured), ``sigma`` (of the relation at ``mag``),
        ``theta_e_predicted``, ``ratio`` (measured / predicted); ``meta`` holds
        the relation, redshifts, ``convention`` and ``median_ratio``.

    Raises
    ------
    InputError
        If a column or redshift is missing.
    """
    for name in ("member", "theta_e"):
        if name not in lines.colnames:
            raise InputError(f"the critical lines have no column {name!r} (assign members first)")
    for name in (magnitude_column, id_column):
        if name not in members.colnames:
            raise InputError(f"the member catalogue has no column {name!r}")
    z_lens = lines.meta.get("z_lens")
    z_source = lines.meta.get("z_source") if z_source is None else z_source
    if z_lens is None or z_source is None:
        raise InputError("the critical lines need meta 'z_lens' and a source redshift")
    for key in ("mag_ref", "sigma_ref", "vdslope"):
        if key not in relation:
            raise InputError(f"the scaling relation has no {key!r}")
    mags = dict(
        zip(
            np.asarray(members[id_column]).astype(str),
            np.asarray(getattr(members[magnitude_column], "value", members[magnitude_column])),
        )
    )
    assigned = np.asarray(lines["member"]).astype(str)
    keep = np.array([m in mags for m in assigned]) & (assigned != "")
    rows = lines[keep]
    mag = np.array([float(mags[m]) for m in assigned[keep]])
    sigma = u.Quantity(relation["sigma_ref"], u.km / u.s) * 10 ** (
        0.4 * (relation["mag_ref"] - mag) / relation["vdslope"]
    )
    predicted = sis_einstein_radius(
        sigma, z_lens=z_lens, z_source=z_source, cosmology=cosmology, convention=convention
    )
    measured = u.Quantity(rows["theta_e"], u.arcsec)
    out = QTable()
    out["line_id"] = np.asarray(rows["id"]) if "id" in rows.colnames else np.flatnonzero(keep)
    out["member"] = assigned[keep]
    out["mag"] = mag
    out["theta_e"] = measured
    out["sigma"] = sigma
    out["theta_e_predicted"] = predicted
    out["ratio"] = (measured / predicted).to_value(u.dimensionless_unscaled)
    out.meta.update(
        {
            "mag_ref": float(relation["mag_ref"]),
            "sigma_ref_km_s": float(u.Quantity(relation["sigma_ref"], u.km / u.s).value),
            "vdslope": float(relation["vdslope"]),
            "z_lens": float(z_lens),
            "z_source": float(z_source),
            "convention": convention,
            "median_ratio": float(np.median(out["ratio"])) if len(out) else float("nan"),
        }
    )
    return out
