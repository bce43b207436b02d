"""The ``ggsltools sample-sources`` subcommand."""

__all__ = []


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
    from ..registry import get_plugin
    from ..sources import plot_population, sample_sources
    from ..staging import check_figure_path, check_paths, staged_paths

    outputs = [args.output] + ([args.plot] if args.plot else [])
    check_paths(outputs, overwrite=args.overwrite)  # before any work
    if args.plot:
        check_figure_path(args.plot)
    population = get_plugin("sources", args.population)(bands=args.bands)
    table = sample_sources(args.n, z_cluster=args.z_cluster, seed=args.seed, population=population)
    # the table and the figure appear together, or neither does
    with staged_paths(outputs, overwrite=args.overwrite, prefix="sources") as staged:
        table.write(staged[0], format="ascii.ecsv")
        if args.plot:
            plot_population(table, population=population, path=staged[1])
    print(f"wrote {len(table)} sources to {args.output}")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


SUBCOMMANDS = (_add_sample_sources,)
