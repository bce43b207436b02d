"""Subcommands writing the built-in mock data: ``mock-cluster`` and ``mock-field``."""

from ._common import add_mock_arguments, arcsec, report_written

__all__ = []


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
    add_mock_arguments(parser)
    parser.add_argument("--z-lens", type=float, default=0.4, help="cluster redshift (0.4)")
    parser.add_argument(
        "--dpl-npix", type=int, default=501, help="nodes per side of the dpl maps (501)"
    )
    parser.set_defaults(func=_run_mock_cluster)


def _run_mock_cluster(args):
    from ..mock.cluster import write_mock_cluster

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
    report_written(paths.values())
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
    add_mock_arguments(parser)
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
    from ..mock.field import write_mock_field

    paths = write_mock_field(
        args.out,
        seed=args.seed,
        n_members=args.n_members,
        pixel_scale=arcsec(args.pixel_scale),
        with_lens=not args.no_lens,
        dpl_z_source=args.dpl_z_source,
        name=args.name,
        overwrite=args.overwrite,
        **({"size": arcsec(args.size)} if args.size is not None else {}),
    )
    report_written(paths.values())
    return 0


SUBCOMMANDS = (_add_mock_cluster, _add_mock_field)
