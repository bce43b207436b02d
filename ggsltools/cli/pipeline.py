"""The ``ggsltools run`` and ``ggsltools demo`` subcommands."""

import time

from ._common import report_written

__all__ = []


def _print_report(report):
    for entry in report:
        seconds = f" in {entry['seconds']:.0f} s" if entry["status"] != "up to date" else ""
        print(f"{entry['stage']:9s} {entry['status']}{seconds}  ({entry['folder']})")


def _add_run(subparsers):
    from ..pipeline.stages import STAGES

    names = [stage.name for stage in STAGES]
    parser = subparsers.add_parser(
        "run",
        help="run a whole search from one configuration file",
        description=(
            "Run the stages of a search in order: " + ", ".join(names) + ". Each stage "
            "writes into its own folder with a manifest; running again skips the stages "
            "whose configuration and inputs have not changed and resumes an interrupted "
            "one. The configuration is checked completely before any work."
        ),
    )
    parser.add_argument("config", help="TOML configuration (see 'ggsltools demo')")
    parser.add_argument(
        "-o", "--out", help="output folder (default: 'run' beside the configuration)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=names, help="run up to these stages (and what they need)"
    )
    parser.add_argument(
        "--force", nargs="+", choices=names, default=(), help="run these stages again"
    )
    parser.add_argument(
        "--verify", action="store_true", help="check the outputs' digests before skipping"
    )
    parser.add_argument("--scheduler", help="dask.distributed scheduler address (run.scheduler)")
    parser.add_argument("--workers", type=int, help="Dask workers (run.workers)")
    parser.set_defaults(func=_run_run)


def _run_run(args):
    from pathlib import Path

    from ..pipeline.demo import demo_summary
    from ..pipeline.stages import load_pipeline_config, run_pipeline

    config = load_pipeline_config(args.config)
    out = Path(args.out) if args.out else Path(args.config).resolve().parent / "run"
    start = time.perf_counter()
    report = run_pipeline(
        config,
        out=out,
        only=args.only,
        force=args.force,
        verify=args.verify,
        scheduler=args.scheduler,
        workers=args.workers,
    )
    _print_report(report)
    for line in demo_summary(report):
        print(line)
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def _add_demo(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="mock HST clusters, a configuration, and a whole search on them",
        description=(
            "Render mock HST cluster fields, write a commented configuration for them "
            "(ggsltools.toml, a template for your own data) and run every stage of a "
            "search on it, ending with an HTML report and the test metrics of each "
            "network. Running it again reuses what is done."
        ),
    )
    parser.add_argument("--out", default="ggsltools-demo", help="output folder (ggsltools-demo)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the small version (two smaller clusters; the VGG only, on one fold)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--overwrite", action="store_true", help="write the clusters and configuration again"
    )
    parser.set_defaults(func=_run_demo)


def _run_demo(args):
    from ..pipeline.demo import demo_summary, run_demo

    start = time.perf_counter()
    config, report = run_demo(args.out, quick=args.quick, seed=args.seed, overwrite=args.overwrite)
    _print_report(report)
    for line in demo_summary(report):
        print(line)
    report_written([config])
    print(f"done in {time.perf_counter() - start:.0f} s; run it again with: ggsltools run {config}")
    return 0


SUBCOMMANDS = (_add_run, _add_demo)
