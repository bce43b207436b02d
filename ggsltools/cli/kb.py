"""Knowledge-base subcommands: ``build-kb``, ``kb-info`` and ``kb-gallery``."""

from ._common import report_written

__all__ = []


def _add_build_kb(subparsers):
    parser = subparsers.add_parser(
        "build-kb",
        help="build a knowledge base of simulated lenses and inspected non-lenses",
        description=(
            "Read a TOML configuration (clusters with their images, PSFs, lens "
            "models, member catalogues and inspection tables; [sources], "
            "[injection], [kb]), validate it, and write the knowledge base: cutouts "
            "of inspected non-GGSL members and of members with one simulated lens "
            "each, labels, metadata and stratified folds, in one HDF5 file. An "
            "interrupted build resumes when run again with the same configuration."
        ),
    )
    parser.add_argument("config", metavar="CONFIG.toml", help="the configuration file")
    parser.add_argument("-o", "--output", required=True, help="knowledge-base file to write")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="address of a dask.distributed scheduler"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="threads of the local Dask scheduler (1: serial)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.set_defaults(func=_run_build_kb)


def _run_build_kb(args):
    from ..exceptions import InputError
    from ..kb.build import build_kb

    if args.workers < 1:
        raise InputError(f"--workers {args.workers} must be at least 1")
    summary = build_kb(
        args.config,
        args.output,
        scheduler=args.scheduler,
        workers=args.workers,
        progress=True,
        overwrite=args.overwrite,
    )
    for problem in summary["problems"]:
        print(f"warning: {problem}")
    if summary["resumed_batches"]:
        print(f"resumed after {summary['resumed_batches']} batches")
    print(
        f"{summary['n_cutouts']} cutouts: {summary['n_positives']} GGSL, "
        f"{summary['n_negatives']} non-GGSL"
    )
    _print_exclusions(summary["exclusions"])
    report_written([summary["path"]])
    return 0


def _print_exclusions(exclusions):
    from ..kb.build import EXCLUSION_REASONS

    if not exclusions:
        print("excluded: none")
        return
    print("excluded:")
    for reason, counts in sorted(exclusions.items()):
        parts = ", ".join(f"{n} {cls}" for cls, n in sorted(counts.items()))
        print(f"  {reason}: {parts} ({EXCLUSION_REASONS.get(reason, '')})")


def _add_kb_info(subparsers):
    parser = subparsers.add_parser(
        "kb-info",
        help="summarise a knowledge base",
        description=(
            "Print the counts of a knowledge base by class and cluster, the "
            "exclusions by reason and the size of each fold."
        ),
    )
    parser.add_argument("kb", help="knowledge-base file")
    parser.add_argument(
        "--allow-incomplete", action="store_true", help="summarise an interrupted build too"
    )
    parser.set_defaults(func=_run_kb_info)


def _run_kb_info(args):
    import numpy as np

    from ..kb import KnowledgeBase

    with KnowledgeBase(args.kb, allow_incomplete=args.allow_incomplete) as kb:
        print(f"knowledge base {kb.path} (id {kb.kb_id})")
        print(
            f"complete: {kb.complete}; bands: {', '.join(kb.bands)}; cutouts: {len(kb)} of "
            f"{kb.cutout_size}x{kb.cutout_size} pixels at {kb.pixel_scale:.3f}/pixel"
        )
        labels = kb.labels
        print(f"GGSL: {np.count_nonzero(labels == 1)}; non-GGSL: {np.count_nonzero(labels == 0)}")
        meta = kb.metadata
        if meta is not None:
            clusters = np.asarray(meta["cluster"])
            print("by cluster:")
            for name in dict.fromkeys(clusters):
                sel = clusters == name
                print(
                    f"  {name}: {np.count_nonzero(labels[sel] == 1)} GGSL, "
                    f"{np.count_nonzero(labels[sel] == 0)} non-GGSL"
                )
        _print_exclusions(kb.exclusions)
        if meta is not None and "fold" in meta.colnames:
            folds = np.asarray(meta["fold"])
            print(f"folds (k = {kb.n_folds}): test-fold sizes")
            for fold in range(kb.n_folds):
                sel = folds == fold
                print(
                    f"  fold {fold}: {np.count_nonzero(sel)} ({np.count_nonzero(labels[sel] == 1)} "
                    f"GGSL, {np.count_nonzero(labels[sel] == 0)} non-GGSL)"
                )
            print(f"validation subset (run model): {int(np.sum(meta['validation']))}")
    return 0


def _add_kb_gallery(subparsers):
    parser = subparsers.add_parser(
        "kb-gallery",
        help="draw RGB cutouts of a knowledge base",
        description=(
            "Draw a grid of RGB cutouts like Fig. 5 of Angora et al. (2023): "
            "simulated lenses ordered by Einstein radius along the columns and by "
            "source F814W magnitude along the rows, each labelled with z_s, theta_E "
            "and the magnitude, and a row of non-GGSL cutouts below."
        ),
    )
    parser.add_argument("kb", help="knowledge-base file")
    parser.add_argument("-o", "--output", required=True, help="picture file (PNG, PDF...)")
    parser.add_argument("--columns", type=int, default=6, help="columns of the grid (6)")
    parser.add_argument("--rows", type=int, default=4, help="rows of simulated lenses (4)")
    parser.add_argument(
        "--negatives", type=int, default=1, help="rows of non-GGSL cutouts below them (1)"
    )
    parser.add_argument("--band", default=None, help="band of the magnitudes (the reddest)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice of cutouts (0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.set_defaults(func=_run_kb_gallery)


def _run_kb_gallery(args):
    from ..kb.gallery import kb_gallery

    path = kb_gallery(
        args.kb,
        args.output,
        columns=args.columns,
        rows=args.rows,
        negative_rows=args.negatives,
        band=args.band,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    report_written([path])
    return 0


SUBCOMMANDS = (_add_build_kb, _add_kb_info, _add_kb_gallery)
