"""The ``ggsltools inspect`` and ``ggsltools merge-inspections`` subcommands."""

from pathlib import Path

from ..exceptions import InputError
from ._common import arcsec, band_paths, report_written

__all__ = []


def _add_inspect(subparsers):
    parser = subparsers.add_parser(
        "inspect",
        help="write a web site to score objects by eye",
        description=(
            "Write a static inspection site (index.html and a folder of PNG cutouts, "
            "opened from disk in a browser, no server) for the objects of a member or "
            "candidate catalogue: RGB and single-band cutouts, a larger field to zoom, "
            "spectroscopic background sources marked with their redshift, the "
            "classifier's probability on request. Scores (+1, +0.5, -1) are given with "
            "the keyboard, kept in the browser and exported as ECSV for "
            "merge-inspections."
        ),
    )
    parser.add_argument(
        "--images",
        nargs="+",
        required=True,
        metavar="BAND=PATH",
        help="image of each band, bluest first",
    )
    parser.add_argument(
        "--catalogue", required=True, help="members, or classifier output with 'probability'"
    )
    parser.add_argument("--id-column", default="id", help="column of object ids (id)")
    parser.add_argument("--redshifts", help="spectroscopic redshift catalogue to mark sources")
    parser.add_argument(
        "--z-cluster",
        type=float,
        help="cluster redshift (default: the catalogue's z_lens or z_cluster meta key)",
    )
    parser.add_argument(
        "--dz", type=float, default=0.1, help="mark sources with z >= z_cluster + DZ (0.1)"
    )
    parser.add_argument(
        "--order",
        choices=("catalogue", "random", "probability"),
        default="catalogue",
        help="catalogue order (default), a seeded random order, or by decreasing probability",
    )
    parser.add_argument("--n", type=int, help="inspect only the first N objects after ordering")
    parser.add_argument("--seed", type=int, help="random seed (--order random)")
    parser.add_argument(
        "--min-probability", type=float, help="only objects with probability >= this"
    )
    parser.add_argument(
        "--skip-scored",
        nargs="+",
        metavar="EXPORT",
        help="leave out the objects scored in these previous exports",
    )
    parser.add_argument(
        "--inspector", help="with --skip-scored: count only this inspector's scores"
    )
    parser.add_argument("--size", type=float, default=10.0, help="cutout side in arcsec (10)")
    parser.add_argument(
        "--zoom-size", type=float, default=20.0, help="zoom field side in arcsec (20)"
    )
    parser.add_argument(
        "--rgb-bands", nargs=3, metavar="BAND", help="the RGB picture's bands, bluest first"
    )
    parser.add_argument("--title", default="Visual inspection", help="page title")
    parser.add_argument("--workers", type=int, help="threads rendering pictures (all CPUs)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing site")
    parser.set_defaults(func=_run_inspect)


def _run_inspect(args):
    from ..catalog import read_catalogue
    from ..imaging.io import read_images
    from ..inspection import read_redshift_catalogue, scored_ids, select_objects, write_site

    for option, value in (("--size", args.size), ("--zoom-size", args.zoom_size)):
        if not 0 < value < float("inf"):
            raise InputError(f"{option} must be a positive number of arcsec, got {value:g}")
    catalogue = read_catalogue(args.catalogue, what="catalogue")
    exclude = None
    if args.skip_scored:
        exclude = scored_ids(args.skip_scored, inspector=args.inspector)
    elif args.inspector is not None:
        raise InputError("--inspector goes with --skip-scored")
    selected = select_objects(
        catalogue,
        order=args.order,
        n=args.n,
        seed=args.seed,
        min_probability=args.min_probability,
        exclude_ids=exclude,
        id_column=args.id_column,
    )
    if not len(selected):
        raise InputError("no object left to inspect after the selection")
    redshifts = z_cluster = None
    if args.redshifts is not None:
        redshifts = read_redshift_catalogue(args.redshifts)
        z_cluster = args.z_cluster
        if z_cluster is None:
            z_cluster = catalogue.meta.get("z_lens", catalogue.meta.get("z_cluster"))
        if z_cluster is None:
            raise InputError("--redshifts needs --z-cluster (the catalogue's meta has none)")
    images = read_images(band_paths(args.images, "--images"))
    paths = write_site(
        images,
        selected,
        args.out,
        id_column=args.id_column,
        redshifts=redshifts,
        z_cluster=z_cluster,
        dz=args.dz,
        size=arcsec(args.size),
        zoom_size=arcsec(args.zoom_size),
        rgb_bands=args.rgb_bands,
        title=args.title,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=True,
    )
    print(f"{len(selected)} objects to inspect")
    report_written(paths.values())
    return 0


def _add_merge(subparsers):
    parser = subparsers.add_parser(
        "merge-inspections",
        help="combine inspectors' scores into classes",
        description=(
            "Combine the exports of any number of inspectors: per object the mean "
            "score, the number of votes, each inspector's score and the class "
            "(non-GGSL, candidate, excluded), with the agreement between inspectors "
            "(Fleiss' kappa overall, Cohen's kappa per pair). The output (ECSV) is what "
            "the knowledge base reads for its negatives."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="EXPORT", help="inspectors' ECSV/CSV files")
    parser.add_argument("--out", required=True, help="merged table (ECSV)")
    parser.add_argument("--catalogue", help="the objects' catalogue, to add ra and dec")
    parser.add_argument("--id-column", default="id", help="id column of --catalogue (id)")
    parser.add_argument(
        "--non-lens-max",
        type=float,
        default=-0.75,
        help="largest mean score of the non-GGSL class (-0.75)",
    )
    parser.add_argument(
        "--candidate-min",
        type=float,
        default=0.0,
        help="smallest mean score of the candidate class (0)",
    )
    parser.add_argument(
        "--confirmed", metavar="OUT", help="also write the confirmed lenses (ECSV) here"
    )
    parser.add_argument(
        "--confirmed-min",
        type=float,
        default=0.75,
        help="smallest mean score of a confirmed lens (0.75)",
    )
    parser.add_argument(
        "--confirmed-votes", type=int, default=1, help="fewest votes of a confirmed lens (1)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_merge)


def _write_table(table, path, overwrite):
    from ..staging import staged_files

    path = Path(path)
    with staged_files(path.parent, [path.name], overwrite=overwrite, prefix="merge") as tmp:
        table.write(tmp / path.name, format="ascii.ecsv")
    return path


def _run_merge(args):
    import numpy as np

    from ..catalog import read_catalogue
    from ..inspection import confirmed_lenses, merge_inspections, pairwise_kappa
    from ..staging import check_outputs

    outputs = [args.out] + ([args.confirmed] if args.confirmed else [])
    for path in outputs:
        check_outputs(Path(path).parent, [Path(path).name], overwrite=args.overwrite)
    catalogue = None
    if args.catalogue is not None:
        catalogue = read_catalogue(args.catalogue, what="catalogue")
    merged = merge_inspections(
        args.files,
        catalogue=catalogue,
        id_column=args.id_column,
        non_lens_max=args.non_lens_max,
        candidate_min=args.candidate_min,
    )
    written = [_write_table(merged, args.out, args.overwrite)]
    classes, counts = np.unique(np.asarray(merged["class"]), return_counts=True)
    print(
        f"{len(merged)} objects, {len(merged.meta['inspectors'])} inspectors: "
        + ", ".join(f"{n} {c}" for c, n in zip(classes, counts))
    )
    print(
        f"Fleiss' kappa {merged.meta['fleiss_kappa']:.3f} "
        f"({merged.meta['fleiss_n_objects']} objects with two votes or more)"
    )
    for row in pairwise_kappa(merged):
        print(
            f"Cohen's kappa {row['inspector_1']} / {row['inspector_2']}: {row['kappa']:.3f} "
            f"({row['n_common']} objects in common, {row['agreement']:.0%} identical scores)"
        )
    if args.confirmed:
        confirmed = confirmed_lenses(
            merged, min_score=args.confirmed_min, min_votes=args.confirmed_votes
        )
        print(f"{len(confirmed)} confirmed lenses")
        written.append(_write_table(confirmed, args.confirmed, args.overwrite))
    report_written(written)
    return 0


SUBCOMMANDS = (_add_inspect, _add_merge)
