"""The ``ggsltools`` command.

Each subcommand is a pair of small functions: one adds its options to the parser,
the other calls the library API with them and writes the result. No subcommand
holds logic of its own, so everything the command line does can be done from
Python with the same functions.
"""

import argparse
import logging
import sys

from . import __version__
from .exceptions import GGSLToolsError, InputError

__all__ = ["build_parser", "main"]

log = logging.getLogger("ggsltools")


def _report_written(paths):
    """Tell the user which files a command wrote."""
    for path in paths:
        print(f"wrote {path}")


def _add_plugins(subparsers):
    parser = subparsers.add_parser(
        "plugins",
        help="list the installed plugins and whether they load",
        description=(
            "List the built-in and third-party plugins of every kind, with the "
            "distribution that provides each one and whether it loads."
        ),
    )
    from .registry import KINDS

    parser.add_argument("--kind", choices=sorted(KINDS), help="list only the plugins of this kind")
    parser.set_defaults(func=_run_plugins)


def _run_plugins(args):
    from .registry import plugin_table

    table = plugin_table(args.kind)
    if len(table) == 0:
        print("no plugins installed" + (f" of kind {args.kind}" if args.kind else ""))
        return 0
    table.pprint_all(align="<")
    return 0


def _add_model_arguments(parser):
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


def _read_model(args):
    from .lensing.io import read_lens_model

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


def _add_maps(subparsers):
    parser = subparsers.add_parser(
        "maps",
        help="write LensTool-compatible maps (mass, kappa, ampli, dpl) of a lens model",
        description=(
            "Evaluate a lens model on LensTool's grid (the .par file's champ section) "
            "and write the map LensTool's runmode of the same name writes: 'mass' "
            "(mode 1 kappa, 2 g/cm^2, 3 1e12 Msun per pixel, 4 1e12 Msun/kpc^2), "
            "'kappa' (= mass mode 1), 'ampli' (mode 1 det A = 1/mu, 5 kappa, "
            "6 gamma) or 'dpl' (deflection maps, two files, readable back by the "
            "lenstool-maps plugin). Defaults come from the .par file's runmode line "
            "of that kind when there is one."
        ),
    )
    _add_model_arguments(parser)
    parser.add_argument("--kind", choices=("mass", "kappa", "ampli", "dpl"), default="mass")
    parser.add_argument("--mode", type=int, help="runmode mode (see above)")
    parser.add_argument("--npix", type=int, help="number of grid nodes along x")
    parser.add_argument(
        "--z",
        type=float,
        help="mass: the lens-plane redshift (LensTool's convention); ampli, dpl: the "
        "source redshift",
    )
    parser.add_argument(
        "-o",
        "--output",
        nargs="+",
        required=True,
        help="output FITS file (two files, x then y, for --kind dpl)",
    )
    parser.add_argument(
        "--field",
        nargs=4,
        type=float,
        metavar=("XMIN", "XMAX", "YMIN", "YMAX"),
        help="grid limits in arcsec in the model's frame (default: the .par's champ)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_maps)


def _run_maps(args):
    from .lensing.lenstool_maps import lenstool_map, write_lenstool_fits
    from .plugins.deflection_maps import write_deflection_maps

    model = _read_model(args)
    kind, mode = args.kind, args.mode
    if kind == "kappa":
        kind, mode = "mass", 1
    parsed = getattr(model, "parsed", None)
    line = parsed.runmode(kind) if parsed is not None else None
    if line is not None:
        mode = mode if mode is not None else int(line[0])
        npix = args.npix if args.npix is not None else int(line[1])
        z = args.z if args.z is not None else float(line[2])
    else:
        npix, z = args.npix, args.z
    if npix is None or z is None:
        raise InputError(f"--npix and --z are needed: {args.model[0]} has no {kind} runmode")
    n_out = 2 if kind == "dpl" else 1
    if len(args.output) != n_out:
        raise InputError(f"--kind {args.kind} writes {n_out} file(s), got {len(args.output)}")
    if args.field is not None:
        champ = dict(zip(("xmin", "xmax", "ymin", "ymax"), args.field, strict=True))
    else:
        champ = parsed.champ if parsed is not None else None
    if not champ:
        raise InputError(f"{args.model[0]} has no champ section: give the grid with --field")
    if kind == "dpl":
        paths = write_deflection_maps(
            model,
            *args.output,
            z_source=z,
            npix=npix,
            overwrite=args.overwrite,
            progress=True,
            **champ,
        )
    else:
        mode = mode if mode is not None else 1
        nddata = lenstool_map(
            model, kind=kind, mode=mode, npix=npix, z=z, champ=champ, progress=True
        )
        paths = [write_lenstool_fits(nddata, args.output[0], overwrite=args.overwrite)]
    _report_written(paths)
    return 0


def _add_sample_sources(subparsers):
    parser = subparsers.add_parser(
        "sample-sources",
        help="draw a catalogue of background sources behind a cluster",
        description=(
            "Draw background sources at z >= z_cluster + 0.4 from a source population "
            "(by default the Sersic population of Angora et al. 2023: magnitudes from "
            "number counts, p(z | magnitude), sizes from the size-redshift relation, "
            "colours from a star-forming template with IGM absorption) and write them "
            "as an ECSV table; optionally plot their distributions."
        ),
    )
    parser.add_argument("--n", type=int, required=True, help="number of sources")
    parser.add_argument("--z-cluster", type=float, required=True, help="cluster redshift")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument(
        "--population", default="sersic", help="source-population plugin (default: sersic)"
    )
    parser.add_argument(
        "--bands",
        nargs="+",
        default=["F435W", "F606W", "F814W"],
        help="bands to give magnitudes in (default: F435W F606W F814W)",
    )
    parser.add_argument("-o", "--output", required=True, help="output ECSV table")
    parser.add_argument("--plot", help="also save a figure of the sampled distributions")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.set_defaults(func=_run_sample_sources)


def _run_sample_sources(args):
    from .registry import get_plugin
    from .sources import plot_population, sample_sources

    population = get_plugin("sources", args.population)(bands=args.bands)
    table = sample_sources(args.n, z_cluster=args.z_cluster, seed=args.seed, population=population)
    table.write(args.output, format="ascii.ecsv", overwrite=args.overwrite)
    print(f"wrote {len(table)} sources to {args.output}")
    if args.plot:
        plot_population(table, population=population, path=args.plot)
        print(f"wrote {args.plot}")
    return 0


def _read_members(path):
    """The member catalogue at ``path`` (None when no path is given)."""
    from .catalog import read_catalogue

    return None if path is None else read_catalogue(path, what="member catalogue")


def _members_for(args, model):
    """The member catalogue given, or else the model's own galaxy-scale potentials."""
    if args.members is not None:
        return _read_members(args.members)
    if hasattr(model, "members"):
        members = model.members()
        log.info("using the %d member potentials of the model as members", len(members))
        return members
    return None


def _arcsec(value):
    import astropy.units as u

    return value * u.arcsec


def _add_critical_lines(subparsers):
    parser = subparsers.add_parser(
        "critical-lines",
        help="critical lines and caustics of a lens model for a source redshift",
        description=(
            "Find the tangential and radial critical lines and their caustics for a "
            "source redshift: cluster-scale lines on a coarse grid over the field, and "
            "with a member catalogue, galaxy-scale lines on fine grids around each "
            "member, assigned to their member and classified primary or secondary. "
            "Writes an ECSV table (one row a line, vertices included) and optionally a "
            "DS9 region file."
        ),
    )
    _add_model_arguments(parser)
    parser.add_argument("--z-source", type=float, required=True, help="source redshift")
    parser.add_argument(
        "--members",
        help="cluster-member catalogue (RA/Dec columns); default for LensTool models: "
        "their member potentials",
    )
    parser.add_argument(
        "--size", type=float, default=200.0, help="side of the field, arcsec (default 200)"
    )
    parser.add_argument(
        "--pixel-scale",
        type=float,
        default=0.2,
        help="pixel of the field grid, arcsec (default 0.2)",
    )
    parser.add_argument(
        "--member-pixel-scale",
        type=float,
        default=0.03,
        help="pixel of the grids around members, arcsec (default 0.03)",
    )
    parser.add_argument("-o", "--output", required=True, help="output ECSV table")
    parser.add_argument("--regions", help="also write the lines and caustics as DS9 regions")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_critical_lines)


def _run_critical_lines(args):
    from .lensing.critical import critical_lines_field, write_lines, write_regions

    model = _read_model(args)
    lines = critical_lines_field(
        model,
        z_source=args.z_source,
        size=_arcsec(args.size),
        pixel_scale=_arcsec(args.pixel_scale),
        members=_members_for(args, model),
        member_pixel_scale=_arcsec(args.member_pixel_scale),
        progress=True,
    )
    write_lines(lines, args.output, overwrite=args.overwrite)
    n_secondary = int((lines["classification"] == "secondary").sum())
    print(f"wrote {len(lines)} lines ({n_secondary} secondary) to {args.output}")
    if args.regions:
        write_regions(lines, args.regions, overwrite=args.overwrite)
        print(f"wrote {args.regions}")
    return 0


def _add_cross_section(subparsers):
    parser = subparsers.add_parser(
        "cross-section",
        help="GGSL cross-section and probability against source redshift",
        description=(
            "Total area of the secondary (galaxy-scale) caustics and the GGSL "
            "probability for source redshifts between --z-min and --z-max. With a "
            "member catalogue, lines are searched around the members; otherwise on "
            "one grid of --size at --pixel-scale."
        ),
    )
    _add_model_arguments(parser)
    parser.add_argument("--z-min", type=float, required=True, help="smallest source redshift")
    parser.add_argument("--z-max", type=float, required=True, help="largest source redshift")
    parser.add_argument("--n-z", type=int, default=10, help="number of redshifts (default 10)")
    parser.add_argument(
        "--members",
        help="cluster-member catalogue (RA/Dec columns); default for LensTool models: "
        "their member potentials",
    )
    parser.add_argument(
        "--size", type=float, default=200.0, help="side of the grid without members, arcsec"
    )
    parser.add_argument(
        "--pixel-scale", type=float, default=0.03, help="pixel of the search grids, arcsec"
    )
    parser.add_argument("-o", "--output", required=True, help="output ECSV table")
    parser.add_argument("--plot", help="also save a figure of the cross-section")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_cross_section)


def _run_cross_section(args):
    import numpy as np

    from .lensing.cross_section import cross_section, plot_cross_section
    from .lensing.maps import tangent_plane_grid

    if not args.z_max > args.z_min or args.n_z < 1:
        raise InputError(
            f"need --z-max > --z-min and --n-z >= 1, got {args.z_min}, {args.z_max}, {args.n_z}"
        )
    model = _read_model(args)
    members = _members_for(args, model)
    grid = None
    if members is None:
        grid = tangent_plane_grid(
            model.center, size=_arcsec(args.size), pixel_scale=_arcsec(args.pixel_scale)
        )
    table = cross_section(
        model,
        z_sources=np.linspace(args.z_min, args.z_max, args.n_z),
        members=members,
        grid=grid,
        pixel_scale=_arcsec(args.pixel_scale),
        progress=True,
    )
    table.write(args.output, format="ascii.ecsv", overwrite=args.overwrite)
    print(f"wrote {args.output}")
    if args.plot:
        plot_cross_section(table).figure.savefig(args.plot)
        print(f"wrote {args.plot}")
    return 0


def _add_mock_arguments(parser):
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


def _add_mock_cluster(subparsers):
    parser = subparsers.add_parser(
        "mock-cluster",
        help="write a synthetic cluster lens as LensTool files",
        description=(
            "Draw a synthetic galaxy-cluster lens like a Frontier Fields cluster (a "
            "dPIE cluster halo, a group halo, a BCG and members following LensTool's "
            "scaling relations) and write it as a LensTool .par file with its potfile "
            "catalogue, an ECSV member catalogue and, optionally, dpl deflection maps. "
            "The same seed writes the same files."
        ),
    )
    _add_mock_arguments(parser)
    parser.add_argument("--z-lens", type=float, default=0.4, help="cluster redshift (0.4)")
    parser.add_argument(
        "--dpl-npix", type=int, default=501, help="nodes per side of the dpl maps (501)"
    )
    parser.set_defaults(func=_run_mock_cluster)


def _run_mock_cluster(args):
    from .mock.cluster import write_mock_cluster

    paths = write_mock_cluster(
        args.out,
        seed=args.seed,
        z_lens=args.z_lens,
        n_members=args.n_members,
        name=args.name,
        dpl_z_source=args.dpl_z_source,
        dpl_npix=args.dpl_npix,
        overwrite=args.overwrite,
    )
    _report_written(paths.values())
    return 0


def _add_mock_field(subparsers):
    parser = subparsers.add_parser(
        "mock-field",
        help="write a synthetic cluster: LensTool lens files and HST-like images",
        description=(
            "Draw a synthetic cluster lens (see mock-cluster) and render HST ACS "
            "images of it at Frontier Fields depth: red-sequence members, a BCG with "
            "intracluster light, interlopers and background galaxies, PSFs and noise. "
            "Writes one FITS image per band with HST-like headers, the LensTool files, "
            "a member catalogue shared by both, and an RGB preview. The images hold "
            "no lensed arcs. The same seed writes the same files."
        ),
    )
    _add_mock_arguments(parser)
    parser.add_argument(
        "--pixel-scale", type=float, default=0.06, help="pixel scale in arcsec (0.06)"
    )
    parser.add_argument(
        "--size", type=float, help="side of the images in arcsec (default: the lens field)"
    )
    parser.add_argument(
        "--no-lens", action="store_true", help="write the images only, no LensTool files"
    )
    parser.set_defaults(func=_run_mock_field)


def _run_mock_field(args):
    from .mock.field import write_mock_field

    paths = write_mock_field(
        args.out,
        seed=args.seed,
        n_members=args.n_members,
        pixel_scale=_arcsec(args.pixel_scale),
        with_lens=not args.no_lens,
        dpl_z_source=args.dpl_z_source,
        name=args.name,
        overwrite=args.overwrite,
        **({"size": _arcsec(args.size)} if args.size is not None else {}),
    )
    _report_written(paths.values())
    return 0


def _band_paths(pairs, option):
    """Parse ``BAND=PATH`` arguments into a dict."""
    out = {}
    for pair in pairs:
        band, sep, path = pair.partition("=")
        if not sep or not band or not path:
            raise InputError(f"{option} takes BAND=PATH pairs, got {pair!r}")
        out[band] = path
    return out


def _add_inject(subparsers):
    parser = subparsers.add_parser(
        "inject",
        help="simulate galaxy-galaxy lenses in real images",
        description=(
            "Draw secondary critical lines with probability proportional to theta_E, "
            "place a background source inside each one's caustic, ray-trace it through "
            "the cluster's deflection field, convolve it with each band's PSF and add "
            "it to the images. Writes the injected images (one FITS per band) and the "
            "injection catalogue (ECSV), all or none."
        ),
    )
    _add_model_arguments(parser)
    parser.add_argument(
        "--images", nargs="+", required=True, metavar="BAND=PATH", help="image of each band"
    )
    parser.add_argument(
        "--psfs", nargs="+", required=True, metavar="BAND=PATH", help="PSF of each band"
    )
    lines = parser.add_mutually_exclusive_group()
    lines.add_argument("--lines", help="critical-line table (from critical-lines)")
    lines.add_argument(
        "--members",
        help="member catalogue: find the critical lines around these members (default "
        "for LensTool models: their member potentials)",
    )
    parser.add_argument(
        "--z-lines",
        type=float,
        default=2.0,
        help="source redshift of the critical lines found with --members (2.0)",
    )
    parser.add_argument("--n", type=int, required=True, help="number of lenses to draw")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--population", default="sersic", help="source-population plugin (sersic)")
    parser.add_argument(
        "--stamp-size", type=int, default=128, help="side of the stamps in pixels (128)"
    )
    parser.add_argument(
        "--supersampling", type=int, default=4, help="sub-pixels per pixel side (4)"
    )
    parser.add_argument("--poisson", action="store_true", help="add the sources' Poisson noise")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--name", default="injected", help="file-name stem (injected)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_inject)


def _run_inject(args):
    import numpy as np

    from .imaging.io import read_images
    from .imaging.psf import psf_pixel_scale, read_psf, resample_psf
    from .injection.driver import inject_lenses, injection_file_names, write_injections
    from .lensing.critical import critical_lines_windowed, read_lines
    from .registry import get_plugin
    from .staging import check_outputs

    image_paths = _band_paths(args.images, "--images")
    outputs = injection_file_names(image_paths, name=args.name)
    check_outputs(args.out, outputs.values(), overwrite=args.overwrite)
    images = read_images(image_paths)
    psf_paths = _band_paths(args.psfs, "--psfs")
    missing = sorted(set(images) - set(psf_paths))
    if missing:
        raise InputError(f"no PSF given for band(s) {', '.join(missing)} (--psfs BAND=PATH)")
    psfs = {}
    for band, image in images.items():
        psf = read_psf(psf_paths[band], band=band, recentre=True)
        scale = image.meta["pixel_scale"]
        if not np.isclose(psf_pixel_scale(psf).to_value("arcsec"), scale.to_value("arcsec")):
            psf = resample_psf(psf, to_scale=scale)
        psfs[band] = psf
    model = _read_model(args)
    if args.lines is not None:
        lines = read_lines(args.lines)
    else:
        lines = critical_lines_windowed(model, _read_members(args.members), z_source=args.z_lines)
    population = get_plugin("sources", args.population)(bands=tuple(images))
    injector = get_plugin("injectors", "caustic")(
        population=population,
        psfs=psfs,
        stamp_size=args.stamp_size,
        supersampling=args.supersampling,
        poisson=args.poisson,
    )
    result = inject_lenses(
        images,
        model,
        lines,
        population,
        n=args.n,
        injector=injector,
        rng=np.random.default_rng(args.seed),
        progress=True,
    )
    paths = write_injections(result, args.out, name=args.name, overwrite=args.overwrite)
    meta = result.record.meta
    print(
        f"injected {meta['n_injected']} of {meta['n_requested']} lenses "
        f"({meta['n_skipped_edge']} skipped at the image edges)"
    )
    _report_written(paths.values())
    return 0


#: Functions that add one subcommand each to the parser.
_SUBCOMMANDS = (
    _add_plugins,
    _add_maps,
    _add_sample_sources,
    _add_critical_lines,
    _add_cross_section,
    _add_mock_cluster,
    _add_mock_field,
    _add_inject,
)


def build_parser():
    """Build the argument parser of the ``ggsltools`` command.

    Returns
    -------
    parser : `argparse.ArgumentParser`
    """
    parser = argparse.ArgumentParser(
        prog="ggsltools",
        description=(
            "Find galaxy-galaxy strong lenses in multi-band HST images of galaxy "
            "clusters: simulate lenses with cluster lens models, train and run "
            "deep networks, and evaluate them."
        ),
    )
    parser.add_argument("--version", action="version", version=f"ggsltools {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log messages (-vv: debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def _configure_logging(verbosity):
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    return handler


def main(argv=None):
    """Run the ``ggsltools`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    status : int
        0 on success, 2 when the input was wrong (the message names it).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = _configure_logging(args.verbose)
    try:
        return args.func(args)
    except GGSLToolsError as exc:
        print(f"ggsltools {args.command}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
