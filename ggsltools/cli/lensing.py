"""Subcommands on lens models: ``maps``, ``critical-lines`` and ``cross-section``."""

from ..exceptions import InputError
from ..staging import check_figure_path, check_paths, staged_paths
from ._common import add_model_arguments, arcsec, members_for, read_model, report_written

__all__ = []


def _add_maps(subparsers):
    parser = subparsers.add_parser(
        "maps",
        help="write LensTool-compatible maps (mass, kappa, ampli, dpl) of a lens model",
        description=(
            "Evaluate a lens model on LensTool's grid (the .par file's champ section) "
            "and write the map LensTool's runmode of the same name writes: 'mass' "
            "(mode 1 kappa, 2 g/cm^2, 3 1e12 Msun per pixel, 4 1e12 Msun/kpc^2), "
            "'kappa' (= mass mode 1), 'ampli' (npix x npix; mode 1 magnification "
            "mu = 1/det A, 2 |mu|, 3 2.5 log10 |mu|, 4 LensTool's mode 4, 5 kappa and "
            "6 gamma normalised to D_LS/D_S = 1) or 'dpl' (deflection maps, two "
            "files, readable back by the lenstool-maps plugin). Defaults come from "
            "the .par file's runmode line of that kind when there is one."
        ),
    )
    add_model_arguments(parser)
    parser.add_argument("--kind", choices=("mass", "kappa", "ampli", "dpl"), default="mass")
    parser.add_argument("--mode", type=int, help="runmode mode (see above)")
    parser.add_argument("--npix", type=int, help="number of grid nodes along x")
    parser.add_argument(
        "--z",
        type=float,
        help="mass: the lens-plane redshift (LensTool's convention; 0 for the "
        "projected map of every potential); ampli, dpl: the source redshift",
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
    from ..lensing.lenstool_maps import lenstool_map, write_lenstool_fits
    from ..plugins.deflection_maps import write_deflection_maps

    n_out = 2 if args.kind == "dpl" else 1
    if len(args.output) != n_out:
        raise InputError(f"--kind {args.kind} writes {n_out} file(s), got {len(args.output)}")
    check_paths(args.output, overwrite=args.overwrite)  # before any work
    model = read_model(args)
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
    report_written(paths)
    return 0


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
    add_model_arguments(parser)
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
    parser.add_argument(
        "--full-grid",
        action="store_true",
        help="evaluate the model on every pixel of the grid, not only in the tiles "
        "critical lines cross (the same lines, slower)",
    )
    parser.add_argument("-o", "--output", required=True, help="output ECSV table")
    parser.add_argument("--regions", help="also write the lines and caustics as DS9 regions")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_critical_lines)


def _run_critical_lines(args):
    from ..lensing.critical import critical_lines_field, write_lines, write_regions

    outputs = [args.output] + ([args.regions] if args.regions else [])
    check_paths(outputs, overwrite=args.overwrite)  # before any work
    model = read_model(args)
    lines = critical_lines_field(
        model,
        z_source=args.z_source,
        size=arcsec(args.size),
        pixel_scale=arcsec(args.pixel_scale),
        members=members_for(args, model),
        member_pixel_scale=arcsec(args.member_pixel_scale),
        adaptive=not args.full_grid,
        progress=True,
    )
    # the table and the regions appear together, or neither does
    with staged_paths(outputs, overwrite=args.overwrite, prefix="lines") as staged:
        write_lines(lines, staged[0])
        if args.regions:
            write_regions(lines, staged[1])
    n_secondary = int((lines["classification"] == "secondary").sum())
    print(f"wrote {len(lines)} lines ({n_secondary} secondary) to {args.output}")
    if args.regions:
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
    add_model_arguments(parser)
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
    parser.add_argument(
        "--full-grid",
        action="store_true",
        help="evaluate the model on every pixel of the grid, not only in the tiles "
        "critical lines cross (the same lines, slower)",
    )
    parser.add_argument("-o", "--output", required=True, help="output ECSV table")
    parser.add_argument("--plot", help="also save a figure of the cross-section")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_cross_section)


def _run_cross_section(args):
    import numpy as np
    from matplotlib.figure import Figure

    from ..lensing.cross_section import cross_section, plot_cross_section
    from ..lensing.maps import tangent_plane_grid

    if not args.z_max > args.z_min or args.n_z < 1:
        raise InputError(
            f"need --z-max > --z-min and --n-z >= 1, got {args.z_min}, {args.z_max}, {args.n_z}"
        )
    outputs = [args.output] + ([args.plot] if args.plot else [])
    check_paths(outputs, overwrite=args.overwrite)  # before any work
    if args.plot:
        check_figure_path(args.plot)
    model = read_model(args)
    members = members_for(args, model)
    grid = None
    if members is None:
        grid = tangent_plane_grid(
            model.center, size=arcsec(args.size), pixel_scale=arcsec(args.pixel_scale)
        )
    table = cross_section(
        model,
        z_sources=np.linspace(args.z_min, args.z_max, args.n_z),
        members=members,
        grid=grid,
        pixel_scale=arcsec(args.pixel_scale),
        adaptive=not args.full_grid,
        progress=True,
    )
    # the table and the figure appear together, or neither does
    with staged_paths(outputs, overwrite=args.overwrite, prefix="cross-section") as staged:
        table.write(staged[0], format="ascii.ecsv")
        if args.plot:
            figure = Figure()
            plot_cross_section(table, ax=figure.subplots())
            figure.savefig(staged[1])
    report_written(outputs)
    return 0


SUBCOMMANDS = (_add_maps, _add_critical_lines, _add_cross_section)
