"""The ``ggsltools inject`` subcommand."""

from ._common import add_model_arguments, band_paths, members_for, read_model, report_written

__all__ = []


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
    add_model_arguments(parser)
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

    from ..exceptions import InputError
    from ..imaging.io import read_images
    from ..imaging.psf import read_psfs
    from ..injection.driver import inject_lenses, injection_file_names, write_injections
    from ..lensing.critical import critical_lines_windowed, read_lines
    from ..registry import get_plugin
    from ..staging import check_outputs

    image_paths = band_paths(args.images, "--images")
    outputs = injection_file_names(image_paths, name=args.name)
    check_outputs(args.out, outputs.values(), overwrite=args.overwrite)
    images = read_images(image_paths)
    psfs = read_psfs(band_paths(args.psfs, "--psfs"), images=images, recentre=True)
    model = read_model(args)
    if args.lines is not None:
        lines = read_lines(args.lines)
    else:
        members = members_for(args, model)
        if members is None:
            raise InputError(
                f"{args.model[0]} has no member potentials: give the critical lines "
                "(--lines) or a member catalogue to find them around (--members)"
            )
        lines = critical_lines_windowed(model, members, z_source=args.z_lines)
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
    report_written(paths.values())
    return 0


SUBCOMMANDS = (_add_inject,)
