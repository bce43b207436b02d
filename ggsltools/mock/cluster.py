"""A synthetic galaxy-cluster lens, written out as real LensTool files.

`make_cluster` draws a `MockCluster`: a cluster-scale dPIE halo, optionally a
group-scale dPIE halo and a BCG, and a population of cluster members whose dPIE
parameters follow LensTool's scaling relations. `write_lenstool` writes it as a
LensTool ``.par`` file with a potfile member catalogue (``#REFERENCE 3`` header,
``id x y a b theta mag lum``), an ECSV member catalogue and, optionally, the
``dpl`` deflection maps; `write_mock_cluster` does both. Everything downstream
(critical lines, cross-sections, injections) then reads the mock through the same
readers as a user's LensTool model.

What the mock is: a lens with the ingredients and magnitudes of a Hubble Frontier
Fields or CLASH LensTool model at z ~ 0.4, with an Einstein radius of a few tens
of arcsec for z_s = 2 and tens of galaxy-scale (secondary) critical lines over
an ACS field. What it is not: a fit to any real cluster, a multi-plane lens, or an
image. It has no light: the member catalogue gives positions, magnitudes and
shapes for rendering galaxies later, but no pixels are made here.

The defaults, and where they come from:

- cluster halo: v_disp 950 km/s, core 15 kpc, cut 1000 kpc, e = 0.3, PA 30 deg;
  the cut radius is the 1000 kpc of the A2744 (CATS) and MACS J1931 LensTool
  models in ``tests/data/lenstool``, whose main halos have v_disp 600-1000 km/s
  and ellipticities 0.3-0.8; the core is the small end of the HFF models'
  10-90 kpc, so that one halo gives an Einstein radius like theirs;
- group halo: v_disp 550 km/s, core 10 kpc, cut 500 kpc, 53" from the centre, as
  the secondary halos of bimodal HFF clusters (A2744's second halo has 743 km/s
  and a 48 kpc core); its critical region merges with the cluster's, and with
  the members the tangential critical line for z_s = 2 has theta_E ~ 28";
- BCG: F814W 17.5, v_disp 350 km/s, core 0.35 kpc, cut 30 kpc, e = 0.2, the
  A2744 model's BCG (mag 17.69, 355 km/s, 0.336 kpc, 28.5 kpc, e = 0.205);
- scaling relations: mag0 = 18.0 (F814W), sigma* = 220 km/s, r_cut* = 30 kpc,
  r_core* = 0.3 kpc, slope = vdslope = 4: the A2744 model's 256 members follow
  sigma = 217 km/s, r_cut = 26.6 kpc, r_core = 0.29 kpc at F814W = 18 with these
  slopes (MACS J1931's potfile has corekpc 0.15, sigma 158 km/s at mag0 19.65);
- members: 120 potfile members with 18 < F814W < 22.5 from a Schechter function
  with m* = 19.5, alpha = -1 (the A2744 model has 128 members brighter than
  22.5, with a distribution rising from 18 to 20 and flat beyond), positions from
  a cored isothermal surface density Sigma ~ 1/(1 + R^2/r_c^2), r_c = 150 kpc,
  following the halo's ellipticity (half of A2744's members lie within 48" of the
  centre), no two closer than 1", line-of-sight velocity dispersion 1000 km/s,
  axis ratios 0.75 +- 0.15 (A2744's members have a median e = 0.28, q = 0.75),
  semi-major axes 0.5" at F814W = 20 growing as 10^(-0.2 m) with 0.1 dex scatter
  (the MACS J1931 catalogue's A: 0.51" at 20.1, 0.10" at 23.5);
- z_lens 0.4, the field (``champ``) 200" x 200" (an ACS/WFC field), the
  cosmology H0 = 70, Om = 0.3, OL = 0.7 (LensTool's defaults and the HFF models').
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.cosmology import LambdaCDM
from astropy.table import QTable

from ..exceptions import InputError
from ..lensing.lenstool import kpc_per_arcsec
from ..lensing.maps import frame_to_sky
from ..staging import staged_files

__all__ = [
    "DEFAULT_BCG",
    "DEFAULT_CENTER",
    "DEFAULT_GROUP",
    "DEFAULT_HALO",
    "DEFAULT_SCALING",
    "MockCluster",
    "make_cluster",
    "write_lenstool",
    "write_mock_cluster",
]

#: Sky position of the mock's reference point: an arbitrary extragalactic
#: position (in the COSMOS field), not a real cluster.
DEFAULT_CENTER = SkyCoord(150.1 * u.deg, 2.2 * u.deg, frame="icrs")

#: Cluster-scale dPIE halo: position (arcsec from the reference point), LensTool
#: ellipticity (a^2 - b^2)/(a^2 + b^2), position angle (counter-clockwise from x,
#: West), velocity dispersion and core and cut radii.
DEFAULT_HALO = MappingProxyType(
    {
        "x": 0.0 * u.arcsec,
        "y": 0.0 * u.arcsec,
        "ellipticity": 0.3,
        "angle": 30.0 * u.deg,
        "v_disp": 950.0 * u.km / u.s,
        "core": 15.0 * u.kpc,
        "cut": 1000.0 * u.kpc,
    }
)

#: Group-scale dPIE halo (same keys as `DEFAULT_HALO`).
DEFAULT_GROUP = MappingProxyType(
    {
        "x": -40.0 * u.arcsec,
        "y": -35.0 * u.arcsec,
        "ellipticity": 0.2,
        "angle": -40.0 * u.deg,
        "v_disp": 550.0 * u.km / u.s,
        "core": 10.0 * u.kpc,
        "cut": 500.0 * u.kpc,
    }
)

#: Brightest cluster galaxy: a dPIE potential of its own (as in LensTool models,
#: outside the potfile) with its F814W magnitude ``mag``.
DEFAULT_BCG = MappingProxyType(
    {
        "x": 0.0 * u.arcsec,
        "y": 0.0 * u.arcsec,
        "ellipticity": 0.2,
        "angle": 30.0 * u.deg,
        "v_disp": 350.0 * u.km / u.s,
        "core": 0.35 * u.kpc,
        "cut": 30.0 * u.kpc,
        "mag": 17.5,
    }
)

#: LensTool potfile scaling relations: ``mag0`` (F814W), ``sigma`` (km/s),
#: ``cut`` and ``core`` (kpc) at ``mag0``, ``slope`` and ``vdslope``.
DEFAULT_SCALING = MappingProxyType(
    {
        "mag0": 18.0,
        "sigma": 220.0 * u.km / u.s,
        "cut": 30.0 * u.kpc,
        "core": 0.3 * u.kpc,
        "slope": 4.0,
        "vdslope": 4.0,
    }
)

_HALO_UNITS = {
    "x": u.arcsec,
    "y": u.arcsec,
    "ellipticity": None,
    "angle": u.deg,
    "v_disp": u.km / u.s,
    "core": u.kpc,
    "cut": u.kpc,
    "mag": None,
}
_SCALING_UNITS = {
    "mag0": None,
    "sigma": u.km / u.s,
    "cut": u.kpc,
    "core": u.kpc,
    "slope": None,
    "vdslope": None,
}
_C_KMS = 299792.458
# decimals written to the files; the tables hold the same rounded values
_DEC_XY = 6
_DEC_SKY = 7
_DEC_SHAPE = 5
_DEC_MAG = 4


@dataclass(frozen=True)
class MockCluster:
    """A synthetic cluster lens.

    Attributes
    ----------
    seed : int
        Seed of `numpy.random.default_rng` it was drawn with.
    z_lens : float
        Cluster redshift (of every potential).
    center : `~astropy.coordinates.SkyCoord`
        Reference point of the LensTool frame (``runmode reference 3``).
    cosmology : `~astropy.cosmology.LambdaCDM`
        Cosmology, as LensTool's ``cosmologie`` section holds it (no radiation).
    halos : `~astropy.table.QTable`
        The explicit potentials, one row each (``potentiel`` blocks): ``id``
        (``halo``, ``group``, ``bcg``), ``profile`` (81, dPIE), ``x``, ``y``
        (arcsec, LensTool frame: x towards the West), ``ellipticity``, ``angle``
        (deg), ``v_disp`` (km/s), ``r_core``, ``r_cut`` (kpc), ``z_lens``,
        ``mag`` (F814W of the BCG, NaN for the halos).
    members : `~astropy.table.QTable`
        The cluster galaxies, BCG first then by increasing magnitude: ``id``
        (int), ``ra``, ``dec`` (deg), ``x``, ``y`` (arcsec, LensTool frame),
        ``z``, ``mag_F814W`` (AB), ``a``, ``b`` (semi-axes, arcsec), ``theta``
        (deg, counter-clockwise from x), ``in_potfile`` (False for the BCG,
        which is a potential of its own), and the dPIE parameters of the
        scaling relations (of the BCG's potential for the BCG) ``v_disp``
        (km/s), ``r_core`` and ``r_cut`` (kpc).
    scaling : dict
        The potfile scaling relations: ``mag0``, ``sigma`` (km/s), ``cut`` and
        ``core`` (kpc), ``slope``, ``vdslope``.
    champ : dict
        Field limits ``xmin``, ``xmax``, ``ymin``, ``ymax`` (arcsec), LensTool's
        ``champ`` section.
    """

    seed: int
    z_lens: float
    center: SkyCoord
    cosmology: LambdaCDM
    halos: QTable = field(repr=False)
    members: QTable = field(repr=False)
    scaling: dict
    champ: dict


# ------------------------------------------------------------------ checks


def _value(value, unit, name):
    """A float in ``unit`` (plain numbers are taken in ``unit``)."""
    if isinstance(value, u.Quantity):
        if unit is None:
            try:
                value = value.to_value(u.dimensionless_unscaled)
            except u.UnitConversionError:
                raise InputError(f"{name}={value} must be a plain number") from None
        else:
            try:
                value = value.to_value(unit)
            except u.UnitConversionError:
                raise InputError(f"{name}={value} must be in units of {unit}") from None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r} must be a number") from None
    if not math.isfinite(value):
        raise InputError(f"{name}={value} must be finite")
    return value


def _positive(value, unit, name):
    value = _value(value, unit, name)
    if value <= 0:
        raise InputError(f"{name}={value} must be positive")
    return value


def _component(spec, defaults, name):
    """Plain-float parameters of a halo or BCG, defaults filled in."""
    if not hasattr(spec, "keys"):
        raise InputError(f"{name}={spec!r} must be a dict of parameters or None")
    unknown = sorted(set(spec) - set(defaults))
    if unknown:
        raise InputError(f"{name} has unknown parameters {unknown} (known: {sorted(defaults)})")
    merged = {**defaults, **spec}
    out = {key: _value(merged[key], _HALO_UNITS[key], f"{name}[{key!r}]") for key in merged}
    if not 0 <= out["ellipticity"] < 1:
        raise InputError(f"{name}['ellipticity']={out['ellipticity']} must be in [0, 1)")
    for key in ("v_disp", "core", "cut"):
        if out[key] <= 0:
            raise InputError(f"{name}[{key!r}]={out[key]} must be positive")
    if not out["cut"] > out["core"]:
        raise InputError(
            f"{name}['cut']={out['cut']} kpc must be larger than {name}['core']={out['core']} kpc"
        )
    return out


def _scaling(spec):
    if not hasattr(spec, "keys"):
        raise InputError(f"scaling={spec!r} must be a dict of parameters")
    unknown = sorted(set(spec) - set(DEFAULT_SCALING))
    if unknown:
        raise InputError(
            f"scaling has unknown parameters {unknown} (known: {sorted(DEFAULT_SCALING)})"
        )
    merged = {**DEFAULT_SCALING, **spec}
    out = {
        key: _value(merged[key], _SCALING_UNITS[key], f"scaling[{key!r}]")
        for key in DEFAULT_SCALING
    }
    for key in ("sigma", "cut", "core", "slope", "vdslope"):
        if out[key] <= 0:
            raise InputError(f"scaling[{key!r}]={out[key]} must be positive")
    if not out["cut"] > out["core"]:
        raise InputError(
            f"scaling['cut']={out['cut']} kpc must be larger than scaling['core']={out['core']} kpc"
        )
    return out


def _cosmology(cosmology):
    if not isinstance(cosmology, LambdaCDM):
        raise InputError(
            f"cosmology={cosmology!r} must be a (Flat)LambdaCDM: LensTool's 'cosmologie' "
            "section holds H0, Om and OL only"
        )
    h0 = round(float(cosmology.H0.to_value(u.km / u.s / u.Mpc)), 6)
    om = round(float(cosmology.Om0), 6)
    ol = round(float(cosmology.Ode0), 6)
    name = f"LensTool (H0={h0:g}, Om={om:g}, OX={ol:g}, w=-1, wa=0)"
    return LambdaCDM(H0=h0, Om0=om, Ode0=ol, Tcmb0=0, name=name)


# ------------------------------------------------------------------ drawing


def _schechter_magnitudes(rng, n, *, bright, faint, mstar, alpha):
    """``n`` magnitudes in [bright, faint] from a Schechter function (inverse CDF)."""
    m = np.linspace(bright, faint, 4001)
    lum = 10.0 ** (0.4 * (mstar - m))
    pdf = lum ** (alpha + 1) * np.exp(-lum)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(m))])
    return np.interp(rng.uniform(0.0, cdf[-1], n), cdf, m)


def _positions(rng, n, *, core, half, ellipticity, angle, center, taken, separation):
    """``n`` positions (arcsec) from a cored isothermal surface density.

    Sigma ~ 1/(1 + R^2/core^2) in elliptical radius (axis ratio from the LensTool
    ``ellipticity``, major axis at ``angle``), inside the square field of
    half-side ``half``, no two (nor any of ``taken``) closer than ``separation``.
    """
    q = math.sqrt((1 - ellipticity) / (1 + ellipticity))
    cos_t, sin_t = math.cos(angle), math.sin(angle)
    rmax = (math.sqrt(2.0) * half + math.hypot(*center)) / math.sqrt(q)
    norm = math.log1p((rmax / core) ** 2)
    if n == 0:
        return np.empty(0), np.empty(0)
    xs, ys = [p[0] for p in taken], [p[1] for p in taken]
    start = len(xs)
    for _ in range(200):
        k = max(n, 64)
        r = core * np.sqrt(np.expm1(rng.uniform(0.0, norm, k)))
        phi = rng.uniform(0.0, 2 * math.pi, k)
        u_, v_ = r * np.cos(phi) / math.sqrt(q), r * np.sin(phi) * math.sqrt(q)
        cx = center[0] + u_ * cos_t - v_ * sin_t
        cy = center[1] + u_ * sin_t + v_ * cos_t
        for x, y in zip(cx, cy, strict=True):
            if abs(x) > half or abs(y) > half:
                continue
            if xs and np.min(np.hypot(np.subtract(xs, x), np.subtract(ys, y))) < separation:
                continue
            xs.append(x)
            ys.append(y)
            if len(xs) - start == n:
                return np.array(xs[start:]), np.array(ys[start:])
    raise InputError(
        f"cannot place {n} members at least {separation} arcsec apart in the "
        f"{2 * half} arcsec field: lower n_members or min_separation"
    )


def make_cluster(
    *,
    seed,
    z_lens=0.4,
    center=DEFAULT_CENTER,
    n_members=120,
    halo=DEFAULT_HALO,
    group=DEFAULT_GROUP,
    bcg=DEFAULT_BCG,
    scaling=DEFAULT_SCALING,
    mag_faint=22.5,
    schechter_mstar=19.5,
    schechter_alpha=-1.0,
    member_core=150.0 * u.kpc,
    min_separation=1.0 * u.arcsec,
    velocity_dispersion=1000.0 * u.km / u.s,
    axis_ratio=(0.75, 0.15),
    size_at_mag20=0.5 * u.arcsec,
    field_size=200.0 * u.arcsec,
    cosmology=None,
):
    """Draw a synthetic cluster lens.

    Every random number comes from ``numpy.random.default_rng(seed)``: the same
    arguments give the same cluster. The defaults and their origin are listed in
    the `ggsltools.mock.cluster` module documentation.

    Parameters
    ----------
    seed : int
        Seed of the random generator.
    z_lens : float, optional
        Cluster redshift.
    center : `~astropy.coordinates.SkyCoord`, optional
        Reference point of the frame (written with 7 decimals of a degree).
    n_members : int, optional
        Number of potfile members (the BCG comes on top of them).
    halo : dict, optional
        Cluster halo parameters (keys of `DEFAULT_HALO`; missing keys take its
        values): ``x``, ``y`` (angles), ``ellipticity``, ``angle`` (angle),
        ``v_disp`` (velocity), ``core``, ``cut`` (lengths). Plain numbers are in
        arcsec, deg, km/s and kpc.
    group : dict or None, optional
        Group-scale halo (keys of `DEFAULT_GROUP`); None for none.
    bcg : dict or None, optional
        BCG potential (keys of `DEFAULT_BCG`, with its F814W ``mag``); None for
        none. The BCG is also the first row of the member catalogue.
    scaling : dict, optional
        Potfile scaling relations (keys of `DEFAULT_SCALING`): members of
        magnitude m get sigma* 10^(0.4 (mag0 - m)/vdslope), r_cut*
        10^(0.8 (mag0 - m)/slope) and r_core* 10^(0.2 (mag0 - m)).
    mag_faint : float, optional
        Faintest member F814W magnitude; the brightest is ``scaling['mag0']``.
    schechter_mstar, schechter_alpha : float, optional
        Schechter function of the member magnitudes.
    member_core : `~astropy.units.Quantity`, optional
        Core radius of the members' surface density (length, or angle; plain
        numbers are kpc).
    min_separation : `~astropy.units.Quantity`, optional
        Smallest distance between two members (angle).
    velocity_dispersion : `~astropy.units.Quantity`, optional
        Line-of-sight velocity dispersion of the members: z = z_lens + (1 +
        z_lens) v/c with v normal.
    axis_ratio : tuple of float, optional
        Mean and spread of the members' b/a (normal, clipped to [0.4, 1]).
    size_at_mag20 : `~astropy.units.Quantity`, optional
        Semi-major axis of a member of F814W = 20 (angle); a ~ 10^(-0.2 m) with
        0.1 dex scatter.
    field_size : `~astropy.units.Quantity`, optional
        Side of the square ``champ`` field centred on the reference point, where
        the members lie.
    cosmology : `~astropy.cosmology.LambdaCDM`, optional
        H0, Om0 and Ode0 are used (H0 = 70, Om = 0.3, OL = 0.7 by default).

    Returns
    -------
    cluster : `MockCluster`

    Raises
    ------
    InputError
        If a parameter is invalid (the message names it) or the members cannot
        be placed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed={seed!r} must be a non-negative integer")
    z_lens = _positive(z_lens, None, "z_lens")
    if isinstance(n_members, bool) or int(n_members) != n_members or n_members < 0:
        raise InputError(f"n_members={n_members!r} must be a non-negative integer")
    n_members = int(n_members)
    if not isinstance(center, SkyCoord) or not center.isscalar:
        raise InputError(f"center={center!r} must be a single SkyCoord")
    icrs = center.icrs
    center = SkyCoord(
        round(float(icrs.ra.deg), _DEC_SKY) * u.deg,
        round(float(icrs.dec.deg), _DEC_SKY) * u.deg,
        frame="icrs",
    )
    cosmology = _cosmology(
        cosmology if cosmology is not None else LambdaCDM(H0=70.0, Om0=0.3, Ode0=0.7, Tcmb0=0)
    )
    kpc = kpc_per_arcsec(cosmology, z_lens)
    components = {"halo": _component(halo, DEFAULT_HALO, "halo")}
    if group is not None:
        components["group"] = _component(group, DEFAULT_GROUP, "group")
    if bcg is not None:
        components["bcg"] = _component(bcg, DEFAULT_BCG, "bcg")
    sc = _scaling(scaling)
    mag_faint = _value(mag_faint, None, "mag_faint")
    if not mag_faint > sc["mag0"]:
        raise InputError(f"mag_faint={mag_faint} must be fainter than mag0={sc['mag0']}")
    mstar = _value(schechter_mstar, None, "schechter_mstar")
    alpha = _value(schechter_alpha, None, "schechter_alpha")
    if isinstance(member_core, u.Quantity) and member_core.unit.physical_type == "angle":
        core_arcsec = _positive(member_core, u.arcsec, "member_core")
    else:
        core_arcsec = _positive(member_core, u.kpc, "member_core") / kpc
    separation = _value(min_separation, u.arcsec, "min_separation")
    if separation < 0:
        raise InputError(f"min_separation={separation} arcsec must not be negative")
    sigma_v = _value(velocity_dispersion, u.km / u.s, "velocity_dispersion")
    if sigma_v < 0:
        raise InputError(f"velocity_dispersion={sigma_v} km/s must not be negative")
    try:
        q_mean, q_spread = (float(v) for v in axis_ratio)
    except (TypeError, ValueError):
        raise InputError(f"axis_ratio={axis_ratio!r} must be (mean, spread)") from None
    if not (0 < q_mean <= 1 and q_spread >= 0):
        raise InputError(f"axis_ratio={axis_ratio!r} needs 0 < mean <= 1 and spread >= 0")
    size20 = _positive(size_at_mag20, u.arcsec, "size_at_mag20")
    half = _positive(field_size, u.arcsec, "field_size") / 2.0

    rng = np.random.default_rng(seed)
    mags = np.round(
        np.sort(
            _schechter_magnitudes(
                rng, n_members, bright=sc["mag0"], faint=mag_faint, mstar=mstar, alpha=alpha
            )
        ),
        _DEC_MAG,
    )
    cl = components["halo"]
    taken = [(components["bcg"]["x"], components["bcg"]["y"])] if "bcg" in components else []
    x, y = _positions(
        rng,
        n_members,
        core=core_arcsec,
        half=half,
        ellipticity=cl["ellipticity"],
        angle=math.radians(cl["angle"]),
        center=(cl["x"], cl["y"]),
        taken=taken,
        separation=separation,
    )
    q = np.clip(rng.normal(q_mean, q_spread, n_members), 0.4, 1.0)
    a = size20 * 10.0 ** (-0.2 * (mags - 20.0) + rng.normal(0.0, 0.1, n_members))
    theta = rng.uniform(0.0, 180.0, n_members)
    z = z_lens + (1 + z_lens) * rng.normal(0.0, sigma_v, n_members + len(taken)) / _C_KMS

    dm = 0.4 * (sc["mag0"] - mags)
    v_disp = sc["sigma"] * 10.0 ** (dm / sc["vdslope"])
    r_core = sc["core"] * 10.0 ** (dm / 2.0)
    r_cut = sc["cut"] * 10.0 ** (dm * 2.0 / sc["slope"])
    in_potfile = np.ones(n_members, dtype=bool)
    a = np.round(a, _DEC_SHAPE)
    b = np.round(np.minimum(q * a, a), _DEC_SHAPE)
    theta = np.round(theta, 3)
    if "bcg" in components:
        bc = components["bcg"]
        q_bcg = math.sqrt((1 - bc["ellipticity"]) / (1 + bc["ellipticity"]))
        a_bcg = round(size20 * 10.0 ** (-0.2 * (bc["mag"] - 20.0)), _DEC_SHAPE)
        mags = np.concatenate([[round(bc["mag"], _DEC_MAG)], mags])
        x = np.concatenate([[bc["x"]], x])
        y = np.concatenate([[bc["y"]], y])
        a = np.concatenate([[a_bcg], a])
        b = np.concatenate([[round(q_bcg * a_bcg, _DEC_SHAPE)], b])
        theta = np.concatenate([[bc["angle"]], theta])
        v_disp = np.concatenate([[bc["v_disp"]], v_disp])
        r_core = np.concatenate([[bc["core"]], r_core])
        r_cut = np.concatenate([[bc["cut"]], r_cut])
        in_potfile = np.concatenate([[False], in_potfile])
    x = np.round(x, _DEC_XY)
    y = np.round(y, _DEC_XY)
    sky = frame_to_sky(center, x, y)
    ra, dec = sky.ra.deg, sky.dec.deg

    members = QTable()
    members["id"] = np.arange(1, len(x) + 1)
    members["ra"] = ra * u.deg
    members["dec"] = dec * u.deg
    members["x"] = x * u.arcsec
    members["y"] = y * u.arcsec
    members["z"] = np.round(z, 6)
    members["mag_F814W"] = mags
    members["a"] = a * u.arcsec
    members["b"] = b * u.arcsec
    members["theta"] = theta * u.deg
    members["in_potfile"] = in_potfile
    members["v_disp"] = v_disp * u.km / u.s
    members["r_core"] = r_core * u.kpc
    members["r_cut"] = r_cut * u.kpc
    members.meta["description"] = (
        f"Mock cluster members (seed {seed}, z_lens {z_lens}); mag_F814W in AB; "
        "x, y in LensTool's frame (arcsec, x towards the West); v_disp, r_core, "
        "r_cut are the dPIE parameters of LensTool's scaling relations"
    )

    halos = QTable()
    names = list(components)
    halos["id"] = names
    halos["profile"] = np.full(len(names), 81)
    for key, unit, column in (
        ("x", u.arcsec, "x"),
        ("y", u.arcsec, "y"),
        ("ellipticity", None, "ellipticity"),
        ("angle", u.deg, "angle"),
        ("v_disp", u.km / u.s, "v_disp"),
        ("core", u.kpc, "r_core"),
        ("cut", u.kpc, "r_cut"),
    ):
        values = np.round([components[n][key] for n in names], _DEC_XY)
        halos[column] = values if unit is None else values * unit
    halos["z_lens"] = np.full(len(names), z_lens)
    halos["mag"] = [components[n].get("mag", np.nan) for n in names]

    return MockCluster(
        seed=int(seed),
        z_lens=z_lens,
        center=center,
        cosmology=cosmology,
        halos=halos,
        members=members,
        scaling={
            "mag0": sc["mag0"],
            "sigma": sc["sigma"] * u.km / u.s,
            "cut": sc["cut"] * u.kpc,
            "core": sc["core"] * u.kpc,
            "slope": sc["slope"],
            "vdslope": sc["vdslope"],
        },
        champ={
            k: s * half * u.arcsec
            for k, s in (("xmin", -1), ("xmax", 1), ("ymin", -1), ("ymax", 1))
        },
    )


# ------------------------------------------------------------------ writing


def _file_names(name):
    return {
        "par": f"{name}.par",
        "mass": f"{name}_mass.fits",
        "potfile": f"{name}_potfile.cat",
        "members": f"{name}_members.ecsv",
        "dpl_x": f"{name}_dpl_x.fits",
        "dpl_y": f"{name}_dpl_y.fits",
    }


def _par_text(cluster, names, *, z_source, npix):
    sc = cluster.scaling
    champ = {k: v.to_value(u.arcsec) for k, v in cluster.champ.items()}
    ra, dec = cluster.center.ra.deg, cluster.center.dec.deg
    n_potfile = int(np.count_nonzero(cluster.members["in_potfile"]))
    lines = [
        f"# Mock cluster lens (ggsltools.mock, seed {cluster.seed}): not a real cluster.",
        f"# {len(cluster.halos)} potentials and {n_potfile} potfile members at "
        f"z = {cluster.z_lens:g}; positions in arcsec, x towards the West.",
        "runmode",
        f"\treference 3 {ra:.{_DEC_SKY}f} {dec:.{_DEC_SKY}f}",
        f"\tmass 4 {npix} {cluster.z_lens:.6f} {names['mass']}",
        f"\tdpl 1 {npix} {z_source:.6f} {names['dpl_x']} {names['dpl_y']}",
        "\tend",
        "grille",
        "\tnombre 128",
        "\tpolaire 0",
        f"\tnlentille {len(cluster.halos) + n_potfile}",
        "\tnlens_opt 0",
        "\tend",
        "source",
        f"\tz_source {z_source:.6f}",
        "\tend",
    ]
    for row in cluster.halos:
        lines += [
            f"potentiel {row['id']}",
            "\tprofil 81",
            f"\tx_centre {row['x'].to_value(u.arcsec):.{_DEC_XY}f}",
            f"\ty_centre {row['y'].to_value(u.arcsec):.{_DEC_XY}f}",
            f"\tellipticite {row['ellipticity']:.{_DEC_XY}f}",
            f"\tangle_pos {row['angle'].to_value(u.deg):.{_DEC_XY}f}",
            f"\tcore_radius_kpc {row['r_core'].to_value(u.kpc):.{_DEC_XY}f}",
            f"\tcut_radius_kpc {row['r_cut'].to_value(u.kpc):.{_DEC_XY}f}",
            f"\tv_disp {row['v_disp'].to_value(u.km / u.s):.{_DEC_XY}f}",
        ]
        if np.isfinite(row["mag"]):
            lines.append(f"\tmag {row['mag']:.{_DEC_MAG}f}")
        lines += [f"\tz_lens {cluster.z_lens:.6f}", "\tend"]
    if n_potfile:
        lines += [
            "potfile members",
            f"\tfilein 3 {names['potfile']}",
            "\ttype 81",
            f"\tzlens {cluster.z_lens:.6f}",
            f"\tmag0 {sc['mag0']:.{_DEC_MAG}f}",
            f"\tsigma 0 {sc['sigma'].to_value(u.km / u.s):.6f}",
            f"\tcutkpc 0 {sc['cut'].to_value(u.kpc):.6f}",
            f"\tcorekpc {sc['core'].to_value(u.kpc):.6f}",
            f"\tslope 0 {sc['slope']:.6f}",
            f"\tvdslope 0 {sc['vdslope']:.6f}",
            "\tend",
        ]
    cosmo = cluster.cosmology
    lines += [
        "cosmologie",
        f"\tH0 {cosmo.H0.to_value(u.km / u.s / u.Mpc):.6f}",
        f"\tomega {cosmo.Om0:.6f}",
        f"\tlambda {cosmo.Ode0:.6f}",
        "\tend",
        "champ",
        *(f"\t{k} {champ[k]:.6f}" for k in ("xmin", "xmax", "ymin", "ymax")),
        "\tend",
        "fini",
    ]
    return "\n".join(lines) + "\n"


def _potfile_text(cluster):
    ra, dec = cluster.center.ra.deg, cluster.center.dec.deg
    mag0 = cluster.scaling["mag0"]
    lines = [
        f"#REFERENCE 3 {ra:.{_DEC_SKY}f} {dec:.{_DEC_SKY}f}",
        "# id x y a b theta mag lum",
    ]
    members = cluster.members[cluster.members["in_potfile"]]
    for row in members:
        mag = float(row["mag_F814W"])
        lines.append(
            f"{row['id']} {row['x'].to_value(u.arcsec):.{_DEC_XY}f} "
            f"{row['y'].to_value(u.arcsec):.{_DEC_XY}f} "
            f"{row['a'].to_value(u.arcsec):.{_DEC_SHAPE}f} "
            f"{row['b'].to_value(u.arcsec):.{_DEC_SHAPE}f} "
            f"{row['theta'].to_value(u.deg):.3f} {mag:.{_DEC_MAG}f} "
            f"{10.0 ** (-0.4 * (mag - mag0)):.6g}"
        )
    return "\n".join(lines) + "\n"


def _check_name(name):
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or not all(c.isalnum() or c in "_-." for c in name)
    ):
        raise InputError(
            f"name={name!r} must be a non-empty file name of letters, digits, '_', '-' "
            "and '.' (not starting with '.')"
        )


def write_lenstool(
    cluster, directory, *, name="mock", dpl_z_source=None, dpl_npix=501, overwrite=False
):
    """Write a mock cluster as LensTool files.

    Files written in ``directory`` (created if needed), for ``name="mock"``:

    - ``mock.par``: the LensTool parameter file: ``runmode`` (``reference 3 RA
      DEC``, ``mass 4`` and ``dpl 1`` lines for LensTool to make the maps),
      ``grille``, ``source``, one ``potentiel`` block per halo and for the BCG
      (radii in kpc), ``potfile`` (``filein 3``, ``type 81``, ``zlens``,
      ``mag0``, ``sigma``, ``cutkpc``, ``corekpc``, ``slope 4``, ``vdslope 4``),
      ``cosmologie``, ``champ`` and ``fini``;
    - ``mock_potfile.cat``: the potfile members, ``#REFERENCE 3 RA0 DEC0`` then
      ``id x y a b theta mag lum`` (arcsec from the reference point, degrees,
      F814W, luminosity relative to ``mag0``);
    - ``mock_members.ecsv``: every member with the BCG (`MockCluster.members`),
      for the ``members`` options of the critical-line and injection tools;
    - with ``dpl_z_source``, ``mock_dpl_x.fits`` and ``mock_dpl_y.fits``: the
      deflection maps of the ``.par`` file as read back by
      `~ggsltools.plugins.lenstool.LensToolParModel`, written by
      `~ggsltools.plugins.deflection_maps.write_deflection_maps` (LensTool's
      ``dpl`` convention: not normalised, ``dpl_npix`` nodes over the ``champ``).

    The files are written in a temporary folder inside ``directory`` and moved
    into place at the end, the ``.par`` file last, so that an interrupted run
    leaves no set of files that looks complete. With ``overwrite``, maps of an
    earlier run of the same name are removed when no maps are written.

    Parameters
    ----------
    cluster : `MockCluster`
        The cluster (see `make_cluster`).
    directory : str or `os.PathLike`
        Output folder.
    name : str, optional
        Stem of the file names.
    dpl_z_source : float, optional
        Source redshift of the deflection maps; none are written by default. It
        is also the ``z_source`` of the ``.par`` file and the redshift of its
        ``dpl`` line (2 when not given).
    dpl_npix : int, optional
        Nodes along each side of the maps (and of the ``mass``/``dpl`` runmode
        lines).
    overwrite : bool, optional
        Replace existing files.

    Returns
    -------
    paths : dict of `pathlib.Path`
        ``par``, ``potfile``, ``members`` and, with maps, ``dpl_x`` and
        ``dpl_y``.

    Raises
    ------
    InputError
        If ``cluster`` is not a `MockCluster`, ``name``, ``dpl_z_source`` or
        ``dpl_npix`` is invalid, ``directory`` is not a folder, or a file exists
        and ``overwrite`` is False (the message names the path).
    """
    if not isinstance(cluster, MockCluster):
        raise InputError(f"cluster={cluster!r} is not a MockCluster (see make_cluster)")
    _check_name(name)
    if isinstance(dpl_npix, bool) or int(dpl_npix) != dpl_npix or dpl_npix < 2:
        raise InputError(f"dpl_npix={dpl_npix!r} must be an integer >= 2")
    dpl_npix = int(dpl_npix)
    z_source = 2.0
    if dpl_z_source is not None:
        z_source = _value(dpl_z_source, None, "dpl_z_source")
        if not z_source > cluster.z_lens:
            raise InputError(f"dpl_z_source={z_source} must be larger than z_lens={cluster.z_lens}")
    directory = Path(directory)
    names = _file_names(name)
    keys = ["potfile", "members"] + (["dpl_x", "dpl_y"] if dpl_z_source is not None else [])
    keys.append("par")
    with staged_files(
        directory, [names[key] for key in keys], overwrite=overwrite, prefix=name
    ) as tmp:
        (tmp / names["par"]).write_text(_par_text(cluster, names, z_source=z_source, npix=dpl_npix))
        (tmp / names["potfile"]).write_text(_potfile_text(cluster))
        members = cluster.members.copy()
        members.meta["seed"] = cluster.seed
        members.meta["z_lens"] = cluster.z_lens
        members.meta["center"] = [float(cluster.center.ra.deg), float(cluster.center.dec.deg)]
        members.write(tmp / names["members"], format="ascii.ecsv")
        if dpl_z_source is not None:
            from ..plugins.deflection_maps import write_deflection_maps
            from ..plugins.lenstool import LensToolParModel

            model = LensToolParModel.read(tmp / names["par"])
            champ = cluster.champ
            write_deflection_maps(
                model,
                tmp / names["dpl_x"],
                tmp / names["dpl_y"],
                z_source=z_source,
                npix=dpl_npix,
                xmin=champ["xmin"],
                xmax=champ["xmax"],
                ymin=champ["ymin"],
                ymax=champ["ymax"],
            )
    if dpl_z_source is None:
        # maps left by an earlier run of this name would contradict the new .par
        for key in ("dpl_x", "dpl_y"):
            (directory / names[key]).unlink(missing_ok=True)
    return {key: directory / names[key] for key in ["par", *keys[:-1]]}


def write_mock_cluster(
    directory,
    *,
    seed,
    z_lens=0.4,
    n_members=120,
    name="mock",
    dpl_z_source=None,
    dpl_npix=501,
    overwrite=False,
    **options,
):
    """Draw a mock cluster and write it as LensTool files.

    `make_cluster` followed by `write_lenstool`: the library side of the
    ``mock-cluster`` command.

    Parameters
    ----------
    directory : str or `os.PathLike`
        Output folder (created if needed).
    seed : int
        Seed of the random generator; the same seed writes the same bytes.
    z_lens : float, optional
        Cluster redshift.
    n_members : int, optional
        Number of potfile members.
    name : str, optional
        Stem of the file names.
    dpl_z_source : float, optional
        Also write the ``dpl`` deflection maps for this source redshift.
    dpl_npix : int, optional
        Nodes along each side of the maps.
    overwrite : bool, optional
        Replace existing files.
    **options
        Other keyword arguments of `make_cluster` (``halo``, ``group``,
        ``bcg``, ``scaling``, ``center``...).

    Returns
    -------
    paths : dict of `pathlib.Path`
        As `write_lenstool`.

    Raises
    ------
    InputError
        As `make_cluster` and `write_lenstool`.
    """
    cluster = make_cluster(seed=seed, z_lens=z_lens, n_members=n_members, **options)
    return write_lenstool(
        cluster,
        directory,
        name=name,
        dpl_z_source=dpl_z_source,
        dpl_npix=dpl_npix,
        overwrite=overwrite,
    )
