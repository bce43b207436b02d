"""Read LensTool parameter files and evaluate their potentials.

`read_par` parses a LensTool ``.par`` file (and its potfile member catalogues)
into a `LensToolModel`; `sum_deflection` and `sum_hessian` add the deflections and
second derivatives of its potentials on plain arrays, in chunks of pixels so that
memory stays bounded.

The reader follows LensTool's own rules (``init_grille``, ``set_potfile``,
``setScalingRelations``, ``set_lens`` and ``set_dynamics`` in LensTool's source):
potentials are stored in file order, potfile members after the explicit potentials
that precede the potfile section; only the first ``grille nlens`` of them are used;
explicit potentials take kpc radii before arcsec ones, while potfile sections take
``core``/``cut`` in arcsec before ``corekpc``/``cutkpc``; kpc are turned into
arcsec with LensTool's own constant and the angular-diameter distance of the
potential's redshift. Like LensTool, the reader skips, line by line and with a
warning, a first word at top level that opens no section, and a stray ``end``.
"""

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.cosmology import LambdaCDM, w0waCDM, wCDM
from astropy.table import QTable
from scipy.ndimage import map_coordinates, spline_filter1d

from ..cosmology import angular_diameter_distance_between
from ..exceptions import ModelFormatError, ModelFormatWarning
from . import profiles

log = logging.getLogger("ggsltools")

__all__ = [
    "LENSTOOL_CONSTANTS",
    "SUPPORTED_PROFILES",
    "LensToolModel",
    "read_par",
    "lenstool_b0",
    "dimensionless_distance",
    "kpc_per_arcsec",
    "sum_deflection",
    "sum_hessian",
    "NO_NUMBA_VARIABLE",
    "NearFarSum",
    "member_table",
]

#: Environment variable that, set to anything but "" or "0", makes the sums use
#: plain numpy even when numba is installed (the configuration without the
#: ``fast`` extra).
NO_NUMBA_VARIABLE = "GGSLTOOLS_NO_NUMBA"

#: LensTool's physical constants, copied from its ``include/constant.h`` (values
#: rounded as LensTool has them; using astropy's current constants instead changes
#: maps by ~2e-4).
LENSTOOL_CONSTANTS = {
    # pi in arcsec / c^2 = 648000 / vol^2, arcsec / (km/s)^2
    "pia_c2": 7.209970e-06,
    # c / H0 in h^-1 kpc per arcsec, for H0 = 50 h km/s/Mpc
    "d0": 29.068701,
    # c^3 / (4 pi G H0) / RTA^2 in 1e12 Msun per arcsec^2 (H0 = 50)
    "MCRIT12": 0.2343165,
    # c H0 / (4 pi G) in g/cm^2 (H0 = 50)
    "cH4piG": 0.057929405,
    # c H0 / (4 pi G) in 1e12 Msun/kpc^2 (H0 = 50)
    "cH0_4piG": 2.7730112e-4,
    # G^-1 in Msun / (km/s)^2 / Mpc
    "INVG": 2.325968e8,
    # LensTool's h = H0 / h0 with this h0, in km/s/Mpc
    "h0": 50.0,
}

#: Profile ids the reader and `sum_deflection` know: LensTool's profil numbers.
SUPPORTED_PROFILES = {
    -1: "SIE (true elliptical SIS)",
    1: "SIS",
    8: "PIEMD (I0.5c)",
    12: "NFW",
    14: "external shear",
    81: "dPIE (I0.5c - I0.5cut)",
}

# LensTool profiles the reader names when it refuses them; 5 is not an SIE
_OTHER_PROFILES = {
    -2: "true elliptical BBS",
    0: "SIS with core (pseudo-elliptical potential)",
    2: "isothermal sphere with core",
    3: "elliptical isothermal sphere with core",
    5: "Hubble modified law; LensTool's SIE is profil -1",
    7: "point mass",
    9: "mass sheet",
    10: "spline potential",
    13: "Sersic",
    15: "Einasto",
    16: "Hernquist",
    82: "PIEMD with shallow centre",
}

_DBL_MAX = math.inf

# keywords of the sections the reader interprets; any other keyword is warned about
_POTENTIEL_KEYS = {
    "profil",
    "profile",
    "x_centre",
    "y_centre",
    "ellipticite",
    "ellipticity",
    "ellipticite_mass",
    "ellipticity_mass",
    "ellip_pot",
    "ellipticite_pot",
    "ellipticity_potential",
    "angle_pos",
    "core_radius",
    "core_radius_kpc",
    "scale_radius",
    "scale_radius_kpc",
    "cut_radius",
    "cut_radius_kpc",
    "v_disp",
    "z_lens",
    "mag",
    "concentration",
    "gamma",
    "kappa",
    "lum",
    "identity",
    "name",
}
_POTFILE_KEYS = {
    "filein",
    "type",
    "profil",
    "zlens",
    "z_lens",
    "mag0",
    "select",
    "core",
    "corekpc",
    "cut",
    "cutkpc",
    "slope",
    "sigma",
    "vdslope",
    "vdscatter",
    "vdscat",
    "rcutscatter",
    "rcutscat",
}
_GRILLE_KEYS = {
    "nombre",
    "number",
    "polaire",
    "nlentille",
    "nlens",
    "nlens_opt",
    "nlens_crit",
    "nmsgrid",
    "echant",
    "invmat",
}
_COSMO_KEYS = {"h0", "omega", "omegam", "lambda", "omegax", "omegak", "wx", "wa", "model"}
_CHAMP_KEYS = {"xmin", "xmax", "ymin", "ymax", "dmax", "ra_min", "ra_max", "dec_min", "dec_max"}
# sections whose content is not needed here; a first word at top level that is no
# section name is skipped as one line, as LensTool does
_RAW_SECTIONS = {
    "runmode",
    "source",
    "image",
    "cline",
    "grande",
    "observ",
    "cleanlens",
    "shapemodel",
    "shapelimit",
    "vfield",
    "vfieldlimit",
    "cosmolimit",
    "multiscale",
    "dynfile",
}


@dataclass
class LensToolModel:
    """A LensTool model read from a ``.par`` file.

    Attributes
    ----------
    path : `pathlib.Path`
        The ``.par`` file.
    potentials : `~astropy.table.QTable`
        One row a potential used by LensTool (after the ``grille nlens``
        truncation; potentials of zero strength, b0 = 0, are skipped as LensTool
        skips them, with a log message), with columns ``id`` (str), ``profile`` (LensTool profil),
        ``x``, ``y`` (arcsec, the tangent-plane frame of `reference`),
        ``ellipticity`` (e = (a^2 - b^2)/(a^2 + b^2); the shear for profil 14),
        ``eps`` ((a - b)/(a + b) as LensTool uses it), ``angle`` (deg,
        counter-clockwise from x), ``r_core`` and ``r_cut`` (arcsec, after kpc
        conversion; ``r_core`` is the scale radius of an NFW, ``r_cut`` is inf when
        absent: a dPIE without cut radius is then the untruncated profile, its
        s -> inf limit), ``v_disp`` (km/s), ``b0`` (arcsec), ``z_lens``, ``mag`` and
        ``origin`` ('potentiel' or 'potfile').
    reference : `~astropy.coordinates.SkyCoord` or None
        Reference point of the frame (``runmode reference``), None if absent.
    cosmology : `~astropy.cosmology.Cosmology`
        The file's cosmology (``cosmologie`` section).
    champ : dict
        ``xmin``, ``xmax``, ``ymin``, ``ymax`` of the ``champ`` section as
        Quantities in arcsec; empty if the file has none.
    runmodes : list of tuple
        ``(keyword, tokens)`` of every ``runmode`` line, in order.
    z_source : float
        ``source z_source`` (LensTool's default 0.8 when absent).
    nlens : int
        Number of potentials used (``grille nlens`` or all read).
    nlens_opt : int
        ``grille nlens_opt`` (0 when absent).
    files : tuple of `pathlib.Path`
        The files read: the ``.par`` file and the ``potfile`` catalogues.
    """

    path: Path
    potentials: QTable = field(repr=False)
    reference: SkyCoord | None
    cosmology: object
    champ: dict
    runmodes: list
    z_source: float
    nlens: int
    nlens_opt: int = 0
    files: tuple = ()

    def runmode(self, keyword):
        """Tokens of the first ``runmode`` line starting with ``keyword``, or None."""
        for key, tokens in self.runmodes:
            if key == keyword:
                return tokens
        return None


def lenstool_b0(v_disp):
    """LensTool's dPIE/PIEMD/NFW strength b0 = 6 pi sigma^2 / c^2 in arcsec.

    Parameters
    ----------
    v_disp : float or `~numpy.ndarray`
        LensTool's velocity dispersion in km/s.

    Returns
    -------
    b0 : float or `~numpy.ndarray`
        arcsec, with LensTool's constant pi/c^2 = 7.209970e-6 arcsec/(km/s)^2.
    """
    return 6.0 * LENSTOOL_CONSTANTS["pia_c2"] * np.square(v_disp)


def dimensionless_distance(cosmology, z1, z2=None):
    """Angular-diameter distance in units of c/H0, as LensTool's ``distcosmo``.

    Parameters
    ----------
    cosmology : `~astropy.cosmology.Cosmology`
        Cosmology.
    z1 : float
        Redshift (the near one when ``z2`` is given).
    z2 : float, optional
        Far redshift: return D_A(z1, z2) instead of D_A(0, z1).

    Returns
    -------
    d : float
        D_A H0 / c; 0 when ``z1 >= z2``.
    """
    if z2 is None:
        d = cosmology.angular_diameter_distance(z1)
    elif z1 >= z2:
        return 0.0
    else:
        d = angular_diameter_distance_between(cosmology, z1, z2)
    return float((d / cosmology.hubble_distance).decompose())


def kpc_per_arcsec(cosmology, z):
    """LensTool's kpc per arcsec at redshift z: d0 / h * distcosmo1(z), h = H0/50."""
    h = cosmology.H0.to_value(u.km / u.s / u.Mpc) / LENSTOOL_CONSTANTS["h0"]
    return LENSTOOL_CONSTANTS["d0"] / h * dimensionless_distance(cosmology, z)


class _Lines:
    """Iterates over the meaningful lines of a .par file with their numbers."""

    def __init__(self, path):
        self.path = path
        self.catalogues = []  # the potfile catalogues read
        try:
            text = Path(path).read_text(errors="replace")
        except OSError as exc:
            raise ModelFormatError(f"cannot read LensTool file {path}: {exc}") from None
        self.items = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if line:
                self.items.append((number, line.split()))
        self.pos = 0

    def next(self):
        if self.pos >= len(self.items):
            return None, None
        item = self.items[self.pos]
        self.pos += 1
        return item

    def error(self, number, message):
        return ModelFormatError(f"{self.path}, line {number}: {message}")

    def warn(self, number, message):
        warnings.warn(f"{self.path}, line {number}: {message}", ModelFormatWarning, stacklevel=4)


def _float(lines, number, tokens, index, what):
    try:
        return float(tokens[index])
    except (IndexError, ValueError):
        got = tokens[index] if index < len(tokens) else "nothing"
        raise lines.error(number, f"{what} expects a number, got {got!r}") from None


def _int(lines, number, tokens, index, what):
    value = _float(lines, number, tokens, index, what)
    if value != int(value):
        raise lines.error(number, f"{what} expects an integer, got {tokens[index]!r}")
    return int(value)


def _is_section(word):
    """Whether a first word at top level opens a section (as LensTool matches them)."""
    return (
        word in ("runmode", "source", "champ")
        or word in _RAW_SECTIONS
        or word.startswith(("grille", "grid", "potent", "limit", "potfile", "cosmolog", "image"))
    )


def _section(lines, start_number, name):
    """Collect the (number, tokens) lines of a section up to its ``end``."""
    body = []
    while True:
        number, tokens = lines.next()
        if number is None:
            raise lines.error(start_number, f"section {name!r} has no 'end'")
        if tokens[0] == "end":
            return body
        if tokens[0] == "fini":
            raise lines.error(number, f"'fini' inside section {name!r} (missing 'end')")
        body.append((number, tokens))


def _read_potentiel(lines, body, start_number, name):
    pot = {
        "id": name,
        "profile": None,
        "x": 0.0,
        "y": 0.0,
        "emass": 0.0,
        "epot": 0.0,
        "angle": 0.0,
        "rc": 0.0,
        "rckpc": 0.0,
        "rcut": _DBL_MAX,
        "rcutkpc": _DBL_MAX,
        "v_disp": 0.0,
        "z": None,
        "mag": 0.0,
        "concentration": 0.0,
        "line": start_number,
        "origin": "potentiel",
    }
    keymap = {
        "x_centre": "x",
        "y_centre": "y",
        "ellipticite": "emass",
        "ellipticity": "emass",
        "ellipticite_mass": "emass",
        "ellipticity_mass": "emass",
        "ellip_pot": "epot",
        "ellipticite_pot": "epot",
        "ellipticity_potential": "epot",
        "angle_pos": "angle",
        "core_radius": "rc",
        "scale_radius": "rc",
        "core_radius_kpc": "rckpc",
        "scale_radius_kpc": "rckpc",
        "cut_radius": "rcut",
        "cut_radius_kpc": "rcutkpc",
        "v_disp": "v_disp",
        "z_lens": "z",
        "mag": "mag",
        "concentration": "concentration",
        "gamma": "emass",
    }
    for number, tokens in body:
        key = tokens[0]
        if key in ("profil", "profile"):
            pot["profile"] = _int(lines, number, tokens, 1, key)
            pot["profile_line"] = number
        elif key in keymap:
            pot[keymap[key]] = _float(lines, number, tokens, 1, key)
        elif key in _POTENTIEL_KEYS:
            continue
        else:
            lines.warn(number, f"unknown keyword {key!r} in section 'potentiel'; ignored")
    if pot["profile"] is None:
        raise lines.error(start_number, f"potential {name!r} has no 'profil'")
    if pot["profile"] not in SUPPORTED_PROFILES:
        known = _OTHER_PROFILES.get(pot["profile"])
        raise lines.error(
            pot["profile_line"],
            f"potential {name!r} has profil {pot['profile']}"
            + (f" ({known})" if known else "")
            + ", which is not supported (supported: "
            + ", ".join(f"{k} {v}" for k, v in sorted(SUPPORTED_PROFILES.items()))
            + ")",
        )
    return pot


def _read_catalogue(lines, number, cat_path, ftype, reference):
    """Rows (id, x, y, a, b, theta, mag) of a potfile member catalogue, model frame."""
    try:
        text = cat_path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise lines.error(number, f"cannot read potfile catalogue {cat_path}: {exc}") from None
    iref, ref = 0, None
    has_header = False
    rows = []
    for cat_number, raw in enumerate(text, start=1):
        if raw.lstrip().startswith("#"):
            if "#REFERENCE" in raw:
                parts = raw.split("#REFERENCE", 1)[1].split()
                has_header = True
                try:
                    iref = int(parts[0])
                    if iref != 0:
                        ref = (float(parts[1]), float(parts[2]))
                except (IndexError, ValueError):
                    raise ModelFormatError(
                        f"{cat_path}, line {cat_number}: malformed #REFERENCE header"
                    ) from None
            continue
        tokens = raw.split()
        if not tokens:
            continue
        if len(tokens) < 8:
            raise ModelFormatError(
                f"{cat_path}, line {cat_number}: expected 8 columns "
                f"'id x y a b theta mag lum', got {len(tokens)}"
            )
        try:
            values = [float(t) for t in tokens[1:7]]
        except ValueError:
            raise ModelFormatError(
                f"{cat_path}, line {cat_number}: non-numeric value in {tokens[1:7]}"
            ) from None
        rows.append((tokens[0], *values))
    if not rows:
        return rows
    ids, xs, ys, aa, bb, th, mag = map(list, zip(*rows, strict=True))
    xs = np.array(xs)
    ys = np.array(ys)
    # Without a header, format 1 holds arcsec relative to the model's reference
    # (LensTool's former syntax) and is used as it is.
    if has_header or ftype != 1:
        if iref in (1, 3):  # arcsec relative to the catalogue's reference
            ra = ref[0] + xs / (-3600.0 * math.cos(math.radians(ref[1])))
            dec = ref[1] + ys / 3600.0
        else:  # absolute RA, Dec in degrees
            ra, dec = xs, ys
        if reference is None:
            raise lines.error(
                number,
                f"potfile catalogue {cat_path} has sky positions but the "
                "runmode section has no 'reference'",
            )
        ra0, dec0 = reference.ra.deg, reference.dec.deg
        xs = (ra - ra0) * (-3600.0 * math.cos(math.radians(dec0)))
        ys = (dec - dec0) * 3600.0
    return list(zip(ids, xs, ys, aa, bb, th, mag, strict=True))


def _read_potfile(lines, body, start_number, par_dir, reference):
    pf = {
        "ftype": None,
        "file": None,
        "type": 81,
        "zlens": None,
        "mag0": None,
        "core": -1.0,
        "corekpc": -1.0,
        "cut": _DBL_MAX,
        "cutkpc": _DBL_MAX,
        "sigma": None,
        "slope": 4.0,
        "vdslope": 4.0,
        "line": start_number,
    }
    file_line = start_number
    for number, tokens in body:
        key = tokens[0]
        if key == "filein":
            pf["ftype"] = _int(lines, number, tokens, 1, key)
            if len(tokens) < 3:
                raise lines.error(number, "filein expects '<format> <file>'")
            pf["file"] = tokens[2]
            file_line = number
        elif key in ("type", "profil"):
            pf["type"] = _int(lines, number, tokens, 1, key)
            pf["type_line"] = number
        elif key in ("zlens", "z_lens"):
            pf["zlens"] = _float(lines, number, tokens, 1, key)
        elif key in ("mag0", "core", "corekpc"):
            pf[key] = _float(lines, number, tokens, 1, key)
        elif key in ("cut", "cutkpc", "sigma", "slope", "vdslope"):
            _int(lines, number, tokens, 1, f"{key} (prior mode)")
            pf[key] = _float(lines, number, tokens, 2, key)
        elif key in _POTFILE_KEYS:
            continue
        else:
            lines.warn(number, f"unknown keyword {key!r} in section 'potfile'; ignored")
    if pf["file"] is None:
        return []
    if pf["ftype"] not in (1, 3):
        raise lines.error(
            file_line,
            f"potfile format {pf['ftype']} is not supported "
            "(supported: 1 and 3, 'id x y a b theta mag lum')",
        )
    if pf["type"] not in SUPPORTED_PROFILES:
        raise lines.error(
            pf.get("type_line", start_number),
            f"potfile profile type {pf['type']} is not supported "
            f"(supported: {sorted(SUPPORTED_PROFILES)})",
        )
    for key in ("zlens", "mag0", "sigma"):
        if pf[key] is None:
            raise lines.error(start_number, f"potfile section has no {key!r}")
    if pf["cut"] == _DBL_MAX and pf["cutkpc"] == _DBL_MAX:
        raise lines.error(start_number, "potfile section has neither 'cut' nor 'cutkpc'")
    if pf["core"] == -1.0 and pf["corekpc"] == -1.0:
        raise lines.error(start_number, "potfile section has neither 'core' nor 'corekpc'")
    cat_path = Path(pf["file"])
    if not cat_path.is_absolute():
        cat_path = par_dir / cat_path
    if not cat_path.is_file():
        fallback = par_dir / cat_path.name
        if fallback.is_file():
            lines.warn(
                file_line,
                f"potfile catalogue {cat_path} not found; using "
                f"{fallback}, the file of that name beside the .par",
            )
            cat_path = fallback
        else:
            raise lines.error(file_line, f"potfile catalogue {cat_path} not found")
    members = _read_catalogue(lines, file_line, cat_path, pf["ftype"], reference)
    pf["path"] = cat_path
    lines.catalogues.append(cat_path)
    out = []
    for ident, x, y, a, b, theta, mag in members:
        if a * a + b * b == 0:
            raise ModelFormatError(f"{cat_path}: member {ident} has a = b = 0")
        emass = (a * a - b * b) / (a * a + b * b)
        if emass < 0:
            raise ModelFormatError(
                f"{cat_path}: member {ident} has a negative ellipticity (a={a} < b={b})"
            )
        out.append(
            {
                "id": ident,
                "profile": pf["type"],
                "x": x,
                "y": y,
                "emass": emass,
                "epot": 0.0,
                "angle": theta,
                "rc": 0.0,
                "rckpc": 0.0,
                "rcut": _DBL_MAX,
                "rcutkpc": _DBL_MAX,
                "v_disp": 0.0,
                "z": pf["zlens"],
                "mag": mag,
                "concentration": 0.0,
                "line": file_line,
                "origin": "potfile",
                "potfile": pf,
            }
        )
    return out


def _cosmology_from(values, lines):
    h0 = values.get("h0", 70.0)
    om = values.get("omegam", values.get("omega", 0.3))
    ox = values.get("omegax", values.get("lambda", 0.7))
    w0 = values.get("wx", -1.0)
    wa = values.get("wa", 0.0)
    model = int(values.get("model", 1))
    if model != 1:
        raise lines.error(
            values.get("model_line", 0),
            f"cosmological model {model} is not supported (only 1, w0-wa)",
        )
    name = f"LensTool (H0={h0:g}, Om={om:g}, OX={ox:g}, w={w0:g}, wa={wa:g})"
    if wa != 0:
        return w0waCDM(H0=h0, Om0=om, Ode0=ox, w0=w0, wa=wa, Tcmb0=0, name=name)
    if w0 != -1:
        return wCDM(H0=h0, Om0=om, Ode0=ox, w0=w0, Tcmb0=0, name=name)
    return LambdaCDM(H0=h0, Om0=om, Ode0=ox, Tcmb0=0, name=name)


def read_par(path):
    """Read a LensTool parameter file.

    Parameters
    ----------
    path : str or `os.PathLike`
        The ``.par`` file. Relative potfile paths are resolved relative to its
        folder (and, when missing there, to a file of the same name beside the
        ``.par``, with a `ModelFormatWarning`).

    Returns
    -------
    model : `LensToolModel`

    Raises
    ------
    ModelFormatError
        If the file or a potfile catalogue cannot be read, a line is malformed, a
        section has no ``end``, or a potential has a profile that is not in
        `SUPPORTED_PROFILES` (the message names the file, the line and the id).

    Warns
    -----
    ModelFormatWarning
        For each unknown keyword (naming the line), which is ignored. As in
        LensTool, a line at top level whose first word is no section name (the
        date and chi2 lines heading some ``best.par`` files) is skipped alone,
        and so is an ``end`` outside a section (``bestopt.par`` files have one
        before ``fini``).
    """
    path = Path(path)
    lines = _Lines(path)
    par_dir = path.resolve().parent
    runmodes, source, grille, cosmo, champ = [], {}, {}, {}, {}
    pots = []
    reference = None
    finished = False
    while True:
        number, tokens = lines.next()
        if number is None:
            break
        first = tokens[0]
        if first == "fini":
            finished = True
            break
        if first == "end":
            # LensTool's bestopt.par files end with a stray 'end' before 'fini'
            lines.warn(number, "'end' outside a section; ignored")
            continue
        if not _is_section(first):
            # LensTool skips a line whose first word is no section name (the
            # date and chi2 lines heading some best.par files).
            lines.warn(number, f"unknown keyword {first!r} outside a section; line ignored")
            continue
        body = _section(lines, number, first)
        if first == "runmode":
            for n, t in body:
                runmodes.append((t[0], t[1:]))
                if t[0] == "reference":
                    iref = _int(lines, n, t, 1, "reference")
                    if iref in (1, 2, 3):
                        ra = _float(lines, n, t, 2, "reference RA")
                        dec = _float(lines, n, t, 3, "reference Dec")
                        reference = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
        elif first == "source":
            for n, t in body:
                if t[0] == "z_source":
                    source["z_source"] = _float(lines, n, t, 1, "z_source")
        elif first.startswith(("grille", "grid")):
            for n, t in body:
                key = t[0]
                if key in ("nlentille", "nlens"):
                    grille["nlens"] = _int(lines, n, t, 1, key)
                elif key == "nlens_opt":
                    grille["nlens_opt"] = _int(lines, n, t, 1, key)
                elif key not in _GRILLE_KEYS:
                    lines.warn(n, f"unknown keyword {key!r} in section 'grille'; ignored")
        elif first.startswith("potent"):
            name = tokens[1] if len(tokens) > 1 else str(len(pots) + 1)
            pots.append(_read_potentiel(lines, body, number, name))
        elif first.startswith("limit"):
            continue
        elif first.startswith("potfile"):
            pots.extend(_read_potfile(lines, body, number, par_dir, reference))
        elif first.startswith("cosmolog"):
            for n, t in body:
                key = t[0].lower()
                if key not in _COSMO_KEYS:
                    lines.warn(n, f"unknown keyword {t[0]!r} in section 'cosmologie'; ignored")
                    continue
                cosmo[key] = _float(lines, n, t, 1, t[0])
                if key == "model":
                    cosmo["model_line"] = n
        elif first == "champ":
            for n, t in body:
                key = t[0]
                if key in ("xmin", "xmax", "ymin", "ymax", "dmax"):
                    champ[key] = _float(lines, n, t, 1, key)
                elif key not in _CHAMP_KEYS:
                    lines.warn(n, f"unknown keyword {key!r} in section 'champ'; ignored")
        else:
            continue
    if not finished:
        warnings.warn(
            f"{path}: no 'fini' line; read to the end of the file", ModelFormatWarning, stacklevel=2
        )
    if not pots:
        raise ModelFormatError(f"{path}: no potential defined")
    nlens = min(grille.get("nlens", len(pots)), len(pots))
    if nlens <= 0:
        nlens = len(pots)
    pots = pots[:nlens]
    cosmology = _cosmology_from(cosmo, lines)
    _finish_potentials(pots, cosmology, lines)
    pots = _drop_zero_strength(pots, path)
    if "dmax" in champ:
        d = champ["dmax"]
        frame = {"xmin": -d, "xmax": d, "ymin": -d, "ymax": d}
    elif all(k in champ for k in ("xmin", "xmax", "ymin", "ymax")):
        frame = {k: champ[k] for k in ("xmin", "xmax", "ymin", "ymax")}
    else:
        frame = {}
    return LensToolModel(
        path=path,
        potentials=_table(pots),
        reference=reference,
        cosmology=cosmology,
        champ={k: v * u.arcsec for k, v in frame.items()},
        runmodes=runmodes,
        z_source=source.get("z_source", 0.8),
        nlens=nlens,
        nlens_opt=grille.get("nlens_opt", 0),
        files=(path, *lines.catalogues),
    )


def _drop_zero_strength(pots, path):
    """The potentials less those of zero strength, which LensTool skips.

    A potfile member with magnitude 0 (no scaling relation applied) or a
    potential without ``v_disp`` has b0 = 0: it deflects nothing, and its
    undefined terms (0 times an infinite cut radius) would turn every sum into
    NaN. External shears (profil 14) carry their strength elsewhere and stay.
    """
    kept = [p for p in pots if p["b0"] != 0 or p["profile"] == 14]
    if len(kept) < len(pots):
        skipped = [p for p in pots if p["b0"] == 0 and p["profile"] != 14]
        log.warning(
            "%s: %d potential(s) of zero strength (b0 = 0: v_disp = 0, or a potfile "
            "member with mag 0) skipped, as LensTool does: %s",
            path,
            len(skipped),
            ", ".join(f"{p['id']} (line {p['line']})" for p in skipped),
        )
    if not kept:
        raise ModelFormatError(f"{path}: every potential has zero strength (b0 = 0)")
    return kept


def _finish_potentials(pots, cosmology, lines):
    """Apply LensTool's scaling relations, kpc conversions and ellipticities."""
    distances = {}

    def d1(z):
        if z not in distances:
            distances[z] = kpc_per_arcsec(cosmology, z)
        return distances[z]

    for pot in pots:
        if pot["z"] is None:
            raise lines.error(pot["line"], f"potential {pot['id']!r} has no 'z_lens'")
        pf = pot.get("potfile")
        if pf is not None:
            core = pf["core"] if pf["core"] != -1.0 else pf["corekpc"] / d1(pf["zlens"])
            cut = pf["cut"] if pf["cut"] != _DBL_MAX else pf["cutkpc"] / d1(pf["zlens"])
            if pot["mag"] != 0:
                dm = 0.4 * (pf["mag0"] - pot["mag"])
                pot["rc"] = core * 10.0 ** (dm / 2.0)
                pot["v_disp"] = pf["sigma"] * 10.0 ** (dm / pf["vdslope"])
                pot["rcut"] = cut * 10.0 ** (dm * 2.0 / pf["slope"])
        else:
            if pot["rckpc"] != 0:
                pot["rc"] = pot["rckpc"] / d1(pot["z"])
            if pot["rcutkpc"] != _DBL_MAX:
                pot["rcut"] = pot["rcutkpc"] / d1(pot["z"])
        prof = pot["profile"]
        if prof == 1:
            pot["emass"] = pot["epot"] = 0.0
        if prof in (-1, 8, 81):
            e = pot["emass"]
            if e == 0 and pot["epot"] != 0:
                pot["emass"] = 2 * pot["epot"] / (1 + pot["epot"] ** 2)
            elif e == 0:
                pot["epot"] = 1e-5
            else:
                pot["epot"] = (1 - math.sqrt(1 - e * e)) / e
            if prof == 81 and not pot["rcut"] > pot["rc"]:
                raise lines.error(
                    pot["line"],
                    f"potential {pot['id']!r} (profil 81) needs "
                    f"a cut radius larger than its core radius, got "
                    f"core={pot['rc']} cut={pot['rcut']} arcsec",
                )
        elif prof == 12:
            if pot["rc"] <= 0:
                raise lines.error(
                    pot["line"],
                    f"NFW potential {pot['id']!r} needs a "
                    "scale radius (core_radius or scale_radius)",
                )
            if pot["concentration"] != 0 and pot["v_disp"] == 0:
                pot["v_disp"] = _nfw_sigma_from_c_rs(
                    pot["concentration"], pot["rc"] * d1(pot["z"]), pot["z"], cosmology
                )
            elif pot["v_disp"] == 0:
                raise lines.error(
                    pot["line"], f"NFW potential {pot['id']!r} needs v_disp or concentration"
                )
        if prof == 14:
            pot["b0"] = 0.0
        elif prof in (1, -1):
            # isothermal spheres: b0 = 4 pi sigma^2 / c^2, sigma the 1D dispersion
            pot["b0"] = 4.0 * LENSTOOL_CONSTANTS["pia_c2"] * pot["v_disp"] ** 2
        else:
            pot["b0"] = float(lenstool_b0(pot["v_disp"]))


def _nfw_sigma_from_c_rs(c, rs_kpc, z, cosmology):
    """LensTool's ``e_nfw_crs2sig``: sigma_s (km/s) from concentration and r_s (kpc)."""
    hz = cosmology.H(z).to_value(u.km / u.s / u.Mpc)
    rho_c = 3.0 / 8.0 / math.pi * LENSTOOL_CONSTANTS["INVG"] * hz * hz
    rhos = 200.0 / 3.0 * c**3 / (math.log(1 + c) - c / (1 + c)) * rho_c
    rs = rs_kpc / 1000.0
    return math.sqrt(8.0 / 3.0 / LENSTOOL_CONSTANTS["INVG"] * rs * rs * rhos)


def _table(pots):
    t = QTable()
    t["id"] = [str(p["id"]) for p in pots]
    t["profile"] = np.array([p["profile"] for p in pots], dtype=int)
    t["x"] = np.array([p["x"] for p in pots]) * u.arcsec
    t["y"] = np.array([p["y"] for p in pots]) * u.arcsec
    t["ellipticity"] = np.array([p["emass"] for p in pots])
    t["eps"] = np.array([p["epot"] for p in pots])
    t["angle"] = np.array([p["angle"] for p in pots]) * u.deg
    t["r_core"] = np.array([p["rc"] for p in pots]) * u.arcsec
    t["r_cut"] = np.array([p["rcut"] for p in pots]) * u.arcsec
    t["v_disp"] = np.array([p["v_disp"] for p in pots]) * u.km / u.s
    t["b0"] = np.array([p["b0"] for p in pots]) * u.arcsec
    t["z_lens"] = np.array([p["z"] for p in pots])
    t["mag"] = np.array([p["mag"] for p in pots])
    t["origin"] = [p["origin"] for p in pots]
    return t


def _potential_params(potentials):
    """Plain-float parameters of every row of a potentials table, a tuple a row."""
    columns = (
        np.asarray(potentials["profile"], dtype=int).tolist(),
        potentials["x"].to_value(u.arcsec).tolist(),
        potentials["y"].to_value(u.arcsec).tolist(),
        np.asarray(potentials["ellipticity"], dtype=float).tolist(),
        np.asarray(potentials["eps"], dtype=float).tolist(),
        np.radians(potentials["angle"].to_value(u.deg)).tolist(),
        potentials["r_core"].to_value(u.arcsec).tolist(),
        potentials["r_cut"].to_value(u.arcsec).tolist(),
        potentials["b0"].to_value(u.arcsec).tolist(),
    )
    return list(zip(*columns))


def _one(kind, params, x, y):
    prof, x0, y0, e, eps, theta, rc, rcut, b0 = params
    geo = {"x0": x0, "y0": y0, "theta": theta}
    if prof == 81:
        fn = profiles.dpie_deflection if kind == "d" else profiles.dpie_hessian
        return fn(x, y, b0=b0, r_core=rc, r_cut=rcut, eps=eps, **geo)
    if prof == 8:
        fn = profiles.piemd_deflection if kind == "d" else profiles.piemd_hessian
        return fn(x, y, b0=b0, r_core=rc, eps=eps, **geo)
    if prof in (1, -1):
        # the SIE is LensTool's PIEMD without a core, b0 its Einstein radius
        fn = profiles.piemd_deflection if kind == "d" else profiles.piemd_hessian
        return fn(x, y, b0=b0, r_core=0.0, eps=eps, **geo)
    if prof == 12:
        fn = profiles.nfw_deflection if kind == "d" else profiles.nfw_hessian
        return fn(x, y, b0=b0, r_s=rc, e=e, **geo)
    fn = profiles.shear_deflection if kind == "d" else profiles.shear_hessian
    return fn(x, y, gamma=e, **geo)


def _sum(kind, potentials, x, y, weights, chunk):
    params = _potential_params(potentials)
    return _sum_params(kind, params, x, y, weights, chunk)


def _sum_params(kind, params, x, y, weights, chunk):
    """Weighted sum over potentials given as `_potential_params` tuples."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ncomp = 2 if kind == "d" else 3
    out = np.zeros((ncomp,) + x.shape)
    if weights is None:
        weights = np.ones(len(params))
    weights = np.asarray(weights, dtype=float)
    flat_x = x.reshape(-1)
    flat_y = y.reshape(-1)
    flat_out = out.reshape(ncomp, -1)
    in_kernel = [p[0] in _COMPILED_PROFILES for p in params]
    fast_ones = [i for i, k in enumerate(in_kernel) if k and weights[i] != 0]
    others = [i for i, k in enumerate(in_kernel) if not k and weights[i] != 0]
    todo = fast_ones + others
    if fast_ones and flat_x.size and _use_compiled():
        from . import _fast

        threaded = flat_x.size * len(fast_ones) >= _THREADED_WORK
        if kind == "d":
            fast = (
                _fast.isothermal_sum_deflection
                if threaded
                else _fast.isothermal_sum_deflection_serial
            )
        else:
            fast = _fast.isothermal_sum_hessian if threaded else _fast.isothermal_sum_hessian_serial
        fast(flat_x, flat_y, _isothermal_rows(params, fast_ones, weights), flat_out)
        todo = others
    for start in range(0, flat_x.size, chunk):
        sl = slice(start, start + chunk)
        xs, ys = flat_x[sl], flat_y[sl]
        acc = flat_out[:, sl]
        for i in todo:
            acc += weights[i] * _one(kind, params[i], xs, ys)
    return out


#: Profiles the compiled kernels of ``_fast`` sum (deflections and second derivatives).
_COMPILED_PROFILES = (81, 8, 1, -1)


def _isothermal_rows(params, indices, weights):
    """The rows the isothermal kernels of `ggsltools.lensing._fast` take.

    The strengths, branches (elliptical or circular) and centre values are those
    `_one` passes to `ggsltools.lensing.profiles`.
    """
    rows = []
    for i in indices:
        prof, x0, y0, _, eps, theta, rc, rcut, b0 = params[i]
        w = weights[i]
        if prof == 81:
            a, s = rc, rcut
            scale = w * profiles._dpie_scale(b0, a, s)
            elliptical = eps > profiles.CIRCULAR_EPS_MAX
            centre = w * profiles._dpie_mean_kappa_centre(b0, a, s)
        else:
            a, s = (rc if prof == 8 else 0.0), math.inf
            scale = w * b0
            elliptical = eps > 0
            centre = w * b0 * profiles._circular_q(profiles.CENTRE_RADIUS**2, a)
        rows.append(
            (x0, y0, math.cos(theta), math.sin(theta), a, s, scale, eps, float(elliptical), centre)
        )
    return np.array(rows, dtype=float)


#: Positions x potentials from which the compiled sum runs on several threads.
_THREADED_WORK = 1_000_000


def _use_compiled():
    """Whether the compiled kernel is used: numba installed and not switched off."""
    from ._fast import isothermal_sum_hessian

    return isothermal_sum_hessian is not None and os.environ.get(NO_NUMBA_VARIABLE, "") in (
        "",
        "0",
    )


def sum_deflection(potentials, x, y, *, weights=None, chunk=65536):
    """Sum of the deflections of LensTool potentials, on plain arrays.

    Parameters
    ----------
    potentials : `~astropy.table.QTable`
        A potentials table of a `LensToolModel`.
    x, y : `~numpy.ndarray`
        Positions in arcsec in the model's frame.
    weights : `~numpy.ndarray`, optional
        One factor a potential (D_LS/D_S for the source redshift); 1 if absent.
    chunk : int, optional
        Pixels evaluated at once: memory is a few arrays of this size, never
        potentials x pixels.

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec.
    """
    return _sum("d", potentials, x, y, weights, chunk)


def sum_hessian(potentials, x, y, *, weights=None, chunk=65536):
    """Sum of the second derivatives of LensTool potentials, on plain arrays.

    Parameters are those of `sum_deflection`.

    Returns
    -------
    hessian : `~numpy.ndarray`
        Shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy.
    """
    return _sum("h", potentials, x, y, weights, chunk)


#: Nodes along the side of one cached lattice tile.
_TILE_NODES = 64
#: Lattice nodes added on each side of an interpolated block, so that the spline's
#: boundary conditions do not reach the positions interpolated.
_PAD_NODES = 8
#: The cost of one cell of `NearFarSum` (its lattice block, spline filter and
#: calls), in potential-position pairs of the exact sum.
_CELL_COST = 100_000
#: Ratio of the spacings of two successive lattices.
_LEVEL_RATIO = 4


class NearFarSum:
    """Sums of potentials on many positions: exact near each potential, interpolated far.

    A dPIE (or PIEMD, NFW) varies fast only near its centre: at a distance r it is
    smooth on the scale of a lattice spacing h << r, and a cubic spline through
    its values on the lattice reproduces its second derivatives to about
    0.3 b0 h^4 / r^5 (an isothermal profile of strength b0). The positions are
    grouped in square cells of side ``cell``; in a cell, the potentials closer
    than ``near_radius`` (times b0^(1/5) for b0 > 1", so that strong ones are
    held to the same error) are summed exactly, and the others come from a
    cubic-spline interpolation (`scipy.ndimage.spline_filter` and
    `~scipy.ndimage.map_coordinates`) of a lattice of spacing ``spacing`` from
    which those near potentials are subtracted. The lattice is built the same way
    from a lattice `_LEVEL_RATIO` times coarser, with a near radius
    ``_LEVEL_RATIO^0.9`` times larger, and so on for ``levels`` lattices; the
    coarsest sums every potential. Cells with few positions (the vertices of a
    line) start from a coarser lattice, and a set of positions spread so
    thinly over its cells that one exact sum over all of them costs less is
    summed exactly instead. The
    interpolation runs in a compiled kernel when numba is installed
    (``ggsltools.lensing._fast``). Lattices are anchored on the frame
    origin and cached by tiles (for unit weights when all the weights are equal,
    i.e. for every source redshift of a single lens plane), so that later
    evaluations (other windows, grids or source redshifts) reuse them.

    Error budget, measured on the Abell 2744 model (258 potentials) against the
    exact sums with the defaults: second derivatives within 2e-7 (lambda_t within
    2e-7), deflections within 5e-6 arcsec; on MACS J1149 members, the Einstein
    radii of galaxy-scale critical lines within 1e-8 and their caustic areas
    within 6e-6, relative.

    Memory is a few arrays of the size of one cell, a sort of the positions and
    the cached tiles, never potentials x positions.

    Parameters
    ----------
    potentials : `~astropy.table.QTable`
        A potentials table of a `LensToolModel` (or the ``potentials`` of an
        `~ggsltools.plugins.lenstool.AnalyticLensModel`).
    spacing : float, optional
        Spacing of the finest lattice, in arcsec.
    near_radius : float, optional
        Distance in arcsec from a cell within which a potential of b0 <= 1" is
        summed exactly on the finest lattice.
    levels : int, optional
        Number of lattices.
    cell : float, optional
        Side of the cells positions are grouped in, in arcsec.
    chunk : int, optional
        Positions evaluated at once by the exact sums.
    """

    def __init__(
        self, potentials, *, spacing=0.1, near_radius=2.5, levels=3, cell=3.0, chunk=65536
    ):
        self.params = _potential_params(potentials)
        self.cx = np.array([p[1] for p in self.params])
        self.cy = np.array([p[2] for p in self.params])
        # The interpolation error of a potential scales as b0 / r^5: strong ones
        # are summed exactly farther out, at b0^(1/5) times the near radius.
        b0 = np.array([p[8] for p in self.params])
        self.reach = np.maximum(1.0, np.abs(b0) ** 0.2)
        self.spacings = [float(spacing) * _LEVEL_RATIO**k for k in range(int(levels))]
        # The error 0.3 b0 h^4 / r^5 stays the same on every lattice when the near
        # radius grows as the spacing to the power 4/5; the measured errors of the
        # coarse lattices ask for 0.9.
        self.radii = [float(near_radius) * _LEVEL_RATIO ** (0.9 * k) for k in range(int(levels))]
        self.cell = float(cell)
        self.chunk = int(chunk)
        self._tiles = {}

    def clear(self):
        """Forget the cached lattice tiles."""
        self._tiles.clear()

    def _near(self, xmin, xmax, ymin, ymax, radius):
        """Indices of the potentials within ``radius`` of a box."""
        dx = np.maximum(np.maximum(xmin - self.cx, self.cx - xmax), 0.0)
        dy = np.maximum(np.maximum(ymin - self.cy, self.cy - ymax), 0.0)
        return np.flatnonzero(dx * dx + dy * dy < (radius * self.reach) ** 2)

    def _exact(self, kind, indices, x, y, weights):
        sub = np.zeros_like(weights)
        sub[indices] = weights[indices]
        return _sum_params(kind, self.params, x, y, sub, self.chunk)

    def _tile(self, kind, level, tx, ty, weights, key):
        """Summed values on the nodes of one tile of a lattice (cached)."""
        cache_key = (kind, key, level, tx, ty)
        values = self._tiles.get(cache_key)
        if values is not None:
            return values
        h = self.spacings[level]
        nodes = np.arange(_TILE_NODES, dtype=float)
        xs = (tx * _TILE_NODES + nodes) * h
        ys = (ty * _TILE_NODES + nodes) * h
        xx, yy = np.meshgrid(xs, ys)
        if level == len(self.spacings) - 1:
            values = _sum_params(kind, self.params, xx, yy, weights, self.chunk)
        else:
            radius = self.radii[level + 1]
            near = self._near(xs[0], xs[-1], ys[0], ys[-1], radius)
            values = self._exact(kind, near, xx, yy, weights) + self._interpolate(
                kind, level + 1, xx, yy, near, weights, key
            )
        self._tiles[cache_key] = values
        return values

    def _interpolate(self, kind, level, x, y, exclude, weights, key):
        """Cubic-spline interpolation of a lattice, less the excluded potentials."""
        h = self.spacings[level]
        i0 = int(np.floor(x.min() / h)) - _PAD_NODES
        i1 = int(np.ceil(x.max() / h)) + _PAD_NODES
        j0 = int(np.floor(y.min() / h)) - _PAD_NODES
        j1 = int(np.ceil(y.max() / h)) + _PAD_NODES
        t0, t1 = i0 // _TILE_NODES, i1 // _TILE_NODES
        s0, s1 = j0 // _TILE_NODES, j1 // _TILE_NODES
        rows = []
        for ty in range(s0, s1 + 1):
            rows.append(
                np.concatenate(
                    [self._tile(kind, level, tx, ty, weights, key) for tx in range(t0, t1 + 1)],
                    axis=2,
                )
            )
        block = np.concatenate(rows, axis=1)
        a0, b0 = i0 - t0 * _TILE_NODES, j0 - s0 * _TILE_NODES
        block = block[:, b0 : b0 + j1 - j0 + 1, a0 : a0 + i1 - i0 + 1]
        if exclude.size:
            nodes_x = (i0 + np.arange(i1 - i0 + 1)) * h
            nodes_y = (j0 + np.arange(j1 - j0 + 1)) * h
            xx, yy = np.meshgrid(nodes_x, nodes_y)
            block = block - self._exact(kind, exclude, xx, yy, weights)
        rows = y.ravel() / h - j0
        cols = x.ravel() / h - i0
        coefficients = spline_filter1d(block, order=3, axis=1, mode="mirror")
        coefficients = spline_filter1d(coefficients, order=3, axis=2, mode="mirror")
        out = np.empty((block.shape[0], x.size))
        if _use_compiled():
            from ._fast import bspline3_at

            bspline3_at(coefficients, rows, cols, out)
        else:
            for k, component in enumerate(coefficients):
                out[k] = map_coordinates(
                    component, [rows, cols], order=3, prefilter=False, mode="mirror"
                )
        return out.reshape((block.shape[0],) + x.shape)

    def _level(self, n_points):
        """The lattice a cell of a small set of positions is interpolated from.

        The finest lattice whose block around the cell has at most twice as many
        nodes as the cell has positions: a few positions (the vertices of a line)
        sum more potentials exactly rather than build fine lattice tiles for
        themselves alone. The cells of a fine grid are full enough for the finest
        lattice, whose tiles they share.
        """
        for level, h in enumerate(self.spacings):
            if (self.cell / h + 2 * _PAD_NODES) ** 2 <= 2 * n_points:
                return level
        return len(self.spacings) - 1

    def evaluate(self, kind, x, y, weights, *, progress=False):
        """Weighted sum of the deflections (``"d"``) or second derivatives (``"h"``).

        Parameters
        ----------
        kind : {"d", "h"}
            Deflection (2 components) or second derivatives (3 components).
        x, y : `~numpy.ndarray`
            Positions in arcsec in the model's frame, any shape.
        weights : `~numpy.ndarray`
            One factor a potential.
        progress : bool, optional
            Show a progress bar over the cells.

        Returns
        -------
        values : `~numpy.ndarray`
            Shape ``(2,) + x.shape`` or ``(3,) + x.shape``.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        weights = np.asarray(weights, dtype=float)
        ncomp = 2 if kind == "d" else 3
        out = np.zeros((ncomp,) + x.shape)
        if x.size == 0 or not self.params:
            return out
        bounds = (x.min(), x.max(), y.min(), y.max())
        if not np.all(np.isfinite(bounds)):
            # no cell for positions that are not finite: their sums are NaN
            finite = np.isfinite(x) & np.isfinite(y)
            out[:, ~finite] = np.nan
            out[:, finite] = self.evaluate(kind, x[finite], y[finite], weights, progress=progress)
            return out
        # With one factor for all the potentials (one lens plane), the lattices
        # are built for unit weights and reused for every source redshift.
        scale = 1.0
        if np.all(weights == weights[0]) and weights[0] != 0:
            scale, weights = float(weights[0]), np.ones_like(weights)
        key = weights.tobytes()
        flat_x, flat_y = x.ravel(), y.ravel()
        flat_out = out.reshape(ncomp, -1)
        # (the same floor as that of every position, whose largest is the bound's)
        n_columns = int(np.floor((bounds[1] - bounds[0]) / self.cell)) + 1

        def cell_keys(step):
            """The cell number of every ``step``-th position."""
            keys = np.floor((flat_y[::step] - bounds[2]) / self.cell).astype(np.int64)
            keys *= n_columns
            keys += np.floor((flat_x[::step] - bounds[0]) / self.cell).astype(np.int64)
            return keys

        def occupied(keys):
            """The number of distinct cell numbers."""
            n_cells = int(keys.max()) + 1
            if n_cells > 4 * keys.size:  # a few positions far apart
                return np.unique(keys).size
            seen = np.zeros(n_cells, dtype=bool)
            seen[keys] = True
            return int(np.count_nonzero(seen))

        # Positions spread thinly over many cells (the vertices of lines, a
        # coarse lattice, tiles) would cost more, one small cell at a time, than
        # one exact pass over all of them; the cells of every eighth position,
        # fewer than those of all, often tell already.
        work = flat_x.size * len(self.params)
        exact = work <= _CELL_COST * occupied(cell_keys(8))
        if not exact:
            cell_key = cell_keys(1)
            exact = work <= _CELL_COST * occupied(cell_key)
        cells = []
        if not exact:
            # group the positions by cell: one sort of the cell numbers
            order = np.argsort(cell_key, kind="stable")
            sorted_keys = cell_key[order]
            del cell_key
            starts = np.flatnonzero(np.diff(sorted_keys, prepend=sorted_keys[0] - 1))
            groups = zip(starts, np.append(starts[1:], order.size))
        else:
            groups = ()
        for start, stop in groups:
            index = order[start:stop]
            xs, ys = flat_x[index], flat_y[index]
            level = self._level(xs.size)
            near = self._near(xs.min(), xs.max(), ys.min(), ys.max(), self.radii[level])
            cells.append((index, level, near))
        split_cost = sum(near.size * index.size for index, _, near in cells)
        if exact or work <= split_cost + _CELL_COST * len(cells):
            out = _sum_params(kind, self.params, x, y, weights, self.chunk)
            cells = []
        if progress and cells:
            from tqdm.auto import tqdm

            cells = tqdm(cells, desc="lens model", unit="cell", leave=False)
        for index, level, near in cells:
            xs, ys = flat_x[index], flat_y[index]
            flat_out[:, index] = self._exact(kind, near, xs, ys, weights) + self._interpolate(
                kind, level, xs, ys, near, weights, key
            )
        if scale != 1.0:
            out *= scale
        return out


def member_table(model, *, max_core=1.0 * u.arcsec, max_cut=100.0 * u.arcsec):
    """Galaxy-scale potentials of a LensTool model as a cluster-member catalogue.

    A potential is a member when it has a magnitude (potfile members, and
    galaxies written out as ``potentiel`` sections with ``mag``), a core radius
    of at most ``max_core`` and a cut radius of at most ``max_cut``: cluster and
    group halos (no magnitude, or large core or cut radii) are left out.

    Parameters
    ----------
    model : `LensToolModel`
        The parsed ``.par`` file.
    max_core, max_cut : `~astropy.units.Quantity`, optional
        Largest core and cut radii of a member.

    Returns
    -------
    members : `~astropy.table.QTable`
        One row a member: ``id``, ``ra``, ``dec`` (deg), ``x``, ``y`` (arcsec,
        model frame), ``mag``, ``v_disp``, ``b0``, ``r_core``, ``r_cut``, in the
        order of the potentials table.

    Raises
    ------
    InputError
        If a radius is not a positive angle, or the model has no reference
        position (sky coordinates cannot be computed).
    """
    from ..exceptions import InputError

    limits = []
    for name, value in (("max_core", max_core), ("max_cut", max_cut)):
        try:
            value = u.Quantity(value, u.arcsec).value
        except u.UnitConversionError:
            raise InputError(f"{name}={value} must be an angle") from None
        if not value > 0:
            raise InputError(f"{name}={value} arcsec must be positive")
        limits.append(value)
    if model.reference is None:
        raise InputError(f"{model.path}: no 'reference' in runmode: members have no sky position")
    pots = model.potentials
    keep = (
        (np.asarray(pots["mag"], dtype=float) != 0)
        & (pots["r_core"].to_value(u.arcsec) <= limits[0])
        & (pots["r_cut"].to_value(u.arcsec) <= limits[1])
        & (np.asarray(pots["profile"]) != 14)
    )
    rows = pots[keep]
    x = rows["x"].to_value(u.arcsec)
    y = rows["y"].to_value(u.arcsec)
    ra0, dec0 = model.reference.ra.deg, model.reference.dec.deg
    table = QTable()
    table["id"] = np.asarray(rows["id"]).astype(str)
    table["ra"] = ((ra0 - x / (3600.0 * np.cos(np.deg2rad(dec0)))) % 360.0) * u.deg
    table["dec"] = (dec0 + y / 3600.0) * u.deg
    table["x"] = rows["x"]
    table["y"] = rows["y"]
    for name in ("mag", "v_disp", "b0", "r_core", "r_cut"):
        table[name] = rows[name]
    return table
