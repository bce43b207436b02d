"""Helpers shared by the subcommands of the ``ggsltools`` command."""

import logging

from ..exceptions import InputError

__all__ = []

log = logging.getLogger("ggsltools")


def report_written(paths):
    """Tell the user which files a command wrote."""
    for path in paths:
        print(f"wrote {path}")


def add_model_arguments(parser):
    """Options shared by the subcommands that read a lens model."""
    parser.add_argument(
        "model",
        nargs="+",
        metavar="MODEL",
        help="a LensTool .par file, or the x and y deflection FITS maps",
    )
    parser.add_argument(
        "--plugin", help="lens-model plugin that reads MODEL (guessed from the file names)"
    )
    parser.add_argument("--z-lens", type=float, help="lens redshift (deflection maps: required)")
    parser.add_argument(
        "--maps-z-source",
        default="header",
        help=(
            "deflection maps: the source redshift they were computed for; 'header' "
            "(default) reads it from the FITS header, 'none' means normalised to "
            "D_LS/D_S = 1 (Frontier Fields maps)"
        ),
    )
    parser.add_argument(
        "--maps-units",
        choices=("arcsec", "pixel"),
        default="arcsec",
        help="deflection maps: unit of the map values",
    )


def read_model(args):
    from ..lensing.io import read_lens_model

    options = {}
    if len(args.model) == 2 or args.plugin == "lenstool-maps":
        if args.z_lens is None:
            raise InputError("deflection maps need --z-lens")
        norm = args.maps_z_source.lower()
        options = {
            "z_lens": args.z_lens,
            "normalisation_z_source": (
                "header" if norm == "header" else None if norm == "none" else float(norm)
            ),
            "units": args.maps_units,
        }
    return read_lens_model(*args.model, plugin=args.plugin, **options)


def read_members(path):
    """The member catalogue at ``path`` (None when no path is given)."""
    from ..catalog import read_catalogue

    return None if path is None else read_catalogue(path, what="member catalogue")


def members_for(args, model):
    """The member catalogue given, or else the model's own galaxy-scale potentials."""
    if args.members is not None:
        from ..lensing.critical import _member_xy

        members = read_members(args.members)
        # positions checked here, where the file is known
        _member_xy(members, model.center, name=f"member catalogue {args.members}")
        return members
    if hasattr(model, "members"):
        members = model.members()
        log.info("using the %d member potentials of the model as members", len(members))
        return members
    return None


def arcsec(value):
    import astropy.units as u

    return value * u.arcsec


def band_paths(pairs, option):
    """Parse ``BAND=PATH`` arguments into a dict."""
    out = {}
    for pair in pairs:
        band, sep, path = pair.partition("=")
        if not sep or not band or not path:
            raise InputError(f"{option} takes BAND=PATH pairs, got {pair!r}")
        out[band] = path
    return out


def add_mock_arguments(parser):
    """Options shared by the subcommands that write mock data."""
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument(
        "--n-members", type=int, default=120, help="number of cluster members (120)"
    )
    parser.add_argument("--name", default="mock", help="file-name stem (mock)")
    parser.add_argument(
        "--dpl-z-source", type=float, help="also write dpl maps for this source redshift"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
