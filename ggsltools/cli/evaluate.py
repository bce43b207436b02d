"""The ``evaluate``, ``report`` and ``scaling-relation`` subcommands."""

from pathlib import Path

from ..exceptions import InputError
from ._common import band_paths, log, report_written

__all__ = []


def _add_evaluate(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="metrics, error analyses and figures of classifiers on their test folds",
        description=(
            "Evaluate the test-fold predictions of one or several classifiers (the "
            "test_predictions.ecsv of 'ggsltools train'), joined with the metadata of "
            "their knowledge base: metrics of both classes and their spread over the "
            "folds, ROC curves, purity and completeness against the threshold, false "
            "positives and false negatives against the lens and source properties, "
            "completeness maps. Several files are compared in every figure, named "
            "after their 'architecture' (or their file name). Writes ECSV tables and "
            "PNG and PDF figures into OUT, all or none."
        ),
    )
    parser.add_argument("predictions", nargs="+", metavar="PREDICTIONS", help="ECSV files")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--kb", help="knowledge-base HDF5 file the predictions come from")
    source.add_argument(
        "--metadata", help="the knowledge base's metadata table (ECSV, FITS or HDF5)"
    )
    parser.add_argument("--names", nargs="+", help="classifier names, one per PREDICTIONS file")
    parser.add_argument("-o", "--out", required=True, help="output directory")
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="GGSL probability threshold (0.5)"
    )
    parser.add_argument(
        "--adversarial-magnitude",
        type=float,
        default=28.0,
        help="sources fainter than this are adversarial examples (28)",
    )
    parser.add_argument(
        "--adversarial-theta",
        type=float,
        default=0.5,
        help="lenses with a smaller Einstein radius (arcsec) are adversarial examples (0.5)",
    )
    parser.add_argument(
        "--adversarial-combine",
        choices=("or", "and"),
        default="or",
        help="either condition (or, the paper's) or both (and) make an adversarial example",
    )
    parser.add_argument(
        "--injections",
        nargs="+",
        default=(),
        metavar="TABLE",
        help="classified injection runs (injected lenses with 'probability', theta_e, "
        "mag_F814W, z_s, r_e): their completeness maps are added to the test folds'",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the red-sequence fit (0)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_evaluate)


def _read_metadata(args):
    """The knowledge-base metadata, and the knowledge base's id when known."""
    from astropy.table import QTable

    if args.kb is not None:
        from ..kb import KnowledgeBase

        with KnowledgeBase(args.kb) as kb:
            return kb.metadata, kb.kb_id
    path = Path(args.metadata)
    if not path.is_file():
        raise InputError(f"metadata table {path} does not exist")
    try:
        if path.suffix.lower() in (".h5", ".hdf5"):
            table = QTable.read(path, path="metadata")
        else:
            table = QTable.read(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable metadata table ({exc})") from None
    return table, table.meta.get("kb_id")


def _run_evaluate(args):
    from astropy.table import QTable

    from ..evaluation.evaluate import evaluate_classifiers, join_metadata, write_evaluation

    paths = [Path(p) for p in args.predictions]
    if args.names is not None and len(args.names) != len(paths):
        raise InputError(f"--names gives {len(args.names)} names for {len(paths)} files")
    metadata, kb_id = _read_metadata(args)
    predictions = {}
    for k, path in enumerate(paths):
        if not path.is_file():
            raise InputError(f"predictions file {path} does not exist")
        try:
            table = QTable.read(path, format="ascii.ecsv")
        except Exception as exc:  # astropy raises many kinds for a file it cannot parse
            raise InputError(
                f"{path}: not an ECSV predictions table ({type(exc).__name__}: {exc})"
            ) from None
        name = args.names[k] if args.names else str(table.meta.get("architecture") or path.stem)
        if name in predictions:
            name = f"{name} ({path.name})"
        log.info("evaluating %s (%d rows) as %r", path, len(table), name)
        predictions[name] = join_metadata(table, metadata, name=str(path), kb_id=kb_id)
    import astropy.units as u

    from ..catalog import read_catalogue

    injections = {
        Path(path).stem: read_catalogue(path, what="injection run") for path in args.injections
    }
    result = evaluate_classifiers(
        predictions,
        threshold=args.threshold,
        adversarial_options={
            "magnitude_limit": args.adversarial_magnitude,
            "theta_limit": args.adversarial_theta * u.arcsec,
            "combine": args.adversarial_combine,
        },
        seed=args.seed,
        injections=injections,
    )
    written = write_evaluation(result, args.out, overwrite=args.overwrite)
    metrics = result.tables["metrics"]
    for row in metrics:
        print(
            f"{row['classifier']} [{row['subset']}]: AE {100 * row['ae']:.1f}%, GGSL purity "
            f"{100 * row['purity_ggsl']:.1f}%, completeness {100 * row['completeness_ggsl']:.1f}%"
            f", AUC {row['auc']:.3f}"
        )
    report_written(written)
    return 0


def _add_report(subparsers):
    parser = subparsers.add_parser(
        "report",
        help="a static HTML report: evaluation tables and figures, candidate gallery",
        description=(
            "Write an HTML page (and a folder of its files beside it) that opens "
            "offline in a browser: the tables and figures of an 'ggsltools evaluate' "
            "folder, and a sortable gallery of the classified objects with RGB "
            "thumbnails framed by probability (green > 0.5, orange 0.2-0.5, grey)."
        ),
    )
    parser.add_argument("evaluation", metavar="EVAL_DIR", help="output folder of evaluate")
    parser.add_argument(
        "candidates", metavar="CANDIDATES", help="classified catalogue (output of classify)"
    )
    pictures = parser.add_mutually_exclusive_group(required=True)
    pictures.add_argument(
        "--images",
        nargs=3,
        metavar="BAND=PATH",
        help="three band images to cut the thumbnails from, bluest first",
    )
    pictures.add_argument(
        "--kb",
        help="knowledge base whose cutouts show the candidates (CANDIDATES has its "
        "'index' column, e.g. test-fold predictions); it must have three bands",
    )
    parser.add_argument(
        "--size", type=int, default=128, help="thumbnail side in image pixels (128)"
    )
    parser.add_argument(
        "--min-probability",
        type=float,
        default=0.0,
        help="show only objects with at least this probability (0)",
    )
    parser.add_argument("--max-candidates", type=int, help="show at most this many, most probable")
    parser.add_argument("--title", default="GGSL candidates and classifier evaluation")
    parser.add_argument("-o", "--out", required=True, help="HTML file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    parser.set_defaults(func=_run_report)


def _run_report(args):
    from ..catalog import read_catalogue
    from ..evaluation.report import (
        check_report_paths,
        evaluation_contents,
        select_candidates,
        write_report,
    )
    from ..imaging.cutouts import extract_cutouts
    from ..imaging.io import read_images

    check_report_paths(args.out, overwrite=args.overwrite)
    tables, figures = evaluation_contents(args.evaluation)
    candidates = read_catalogue(args.candidates, what="candidate catalogue")
    candidates = select_candidates(
        candidates,
        min_probability=args.min_probability,
        max_candidates=args.max_candidates,
        name=args.candidates,
    )
    if args.kb is not None:
        candidates, pixels = _kb_cutouts(args.kb, candidates, args.candidates)
    else:
        image_paths = band_paths(args.images, "--images")
        images = read_images(image_paths)
        pixels = extract_cutouts(
            images, candidates, size=args.size, bands=list(image_paths), name=args.candidates
        ).data
    written = write_report(
        args.out,
        candidates=candidates,
        cutouts=pixels,
        tables=tables,
        figures=figures,
        title=args.title,
        overwrite=args.overwrite,
        progress=True,
    )
    print(f"{len(candidates)} candidates in the gallery")
    report_written(written)
    return 0


def _kb_cutouts(path, candidates, name):
    """The candidates (with the knowledge base's metadata columns they lack, e.g.
    ``ra``, ``dec``) and the knowledge-base cutouts of their ``index`` rows."""
    import numpy as np

    from ..evaluation.evaluate import join_metadata
    from ..kb import KnowledgeBase

    if "index" not in candidates.colnames:
        raise InputError(f"{name}: no column 'index' to find the rows of the knowledge base")
    with KnowledgeBase(path) as kb:
        if len(kb.bands) != 3:
            raise InputError(
                f"{path} has bands {', '.join(kb.bands)}: RGB thumbnails need three (use --images)"
            )
        if "label" in candidates.colnames:
            candidates = join_metadata(candidates, kb.metadata, name=name)
        return candidates, kb.read(np.asarray(candidates["index"], dtype=np.int64))


def _add_scaling_relation(subparsers):
    parser = subparsers.add_parser(
        "scaling-relation",
        help="Einstein radii of secondary critical lines against the member scaling relation",
        description=(
            "Compare the Einstein radii of the secondary tangential critical lines "
            "assigned to members (a table of 'ggsltools critical-lines') with the "
            "singular-isothermal-sphere prediction of the LensTool model's "
            "sigma-magnitude relation of its members, theta_E = 4 pi (sigma/c)^2 "
            "D_LS/D_S (Angora et al. 2023, Fig. 4). Writes OUT/scaling_relation.ecsv "
            "and the figure as PNG and PDF."
        ),
    )
    parser.add_argument("lines", metavar="LINES", help="critical-line table (ECSV)")
    parser.add_argument("par", metavar="MODEL.par", help="the LensTool model of the lines")
    parser.add_argument(
        "--theta-min", type=float, default=0.2, help="smallest theta_E kept, arcsec (0.2)"
    )
    parser.add_argument(
        "--theta-max", type=float, default=3.5, help="largest theta_E kept, arcsec (3.5)"
    )
    parser.add_argument(
        "--convention",
        choices=("sis", "dpie"),
        default="sis",
        help="4 pi (sigma/c)^2 (sis, the paper's) or LensTool's dPIE 6 pi (sigma/c)^2",
    )
    parser.add_argument("-o", "--out", required=True, help="output directory")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    parser.set_defaults(func=_run_scaling_relation)


def _run_scaling_relation(args):
    import astropy.units as u

    from ..evaluation.plots import plot_scaling_relation, save_figure
    from ..evaluation.scaling import member_relation, scaling_relation_check
    from ..lensing.critical import read_lines, select_secondary
    from ..lensing.lenstool import read_par
    from ..staging import check_outputs, staged_files

    names = ["scaling_relation.ecsv", "scaling_relation.png", "scaling_relation.pdf"]
    check_outputs(args.out, names, overwrite=args.overwrite)  # before any work
    lines = read_lines(args.lines)
    model = read_par(args.par)
    relation = member_relation(model.potentials)
    lines = select_secondary(
        lines, theta_min=args.theta_min * u.arcsec, theta_max=args.theta_max * u.arcsec
    )
    check = scaling_relation_check(
        lines,
        model.potentials,
        relation=relation,
        cosmology=model.cosmology,
        convention=args.convention,
    )
    if not len(check):
        raise InputError(
            f"{args.lines}: no secondary line with theta_E in ({args.theta_min}, "
            f"{args.theta_max}) arcsec is assigned to a member of {args.par}"
        )
    with staged_files(args.out, names, overwrite=args.overwrite) as staging:
        check.write(staging / names[0], format="ascii.ecsv")
        save_figure(plot_scaling_relation(check), staging, "scaling_relation")
    print(
        f"{len(check)} lines: median measured/predicted theta_E = "
        f"{check.meta['median_ratio']:.3f} (vdslope {relation['vdslope']:.2f})"
    )
    report_written([Path(args.out) / n for n in names])
    return 0


SUBCOMMANDS = (_add_evaluate, _add_report, _add_scaling_relation)
