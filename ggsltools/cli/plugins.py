"""The ``ggsltools plugins`` subcommand."""

__all__ = []


def _add_plugins(subparsers):
    parser = subparsers.add_parser(
        "plugins",
        help="list the installed plugins and whether they load",
        description=(
            "List the built-in and third-party plugins of every kind, with the "
            "distribution that provides each one and whether it loads."
        ),
    )
    from ..registry import KINDS

    parser.add_argument("--kind", choices=sorted(KINDS), help="list only the plugins of this kind")
    parser.set_defaults(func=_run_plugins)


def _run_plugins(args):
    from ..registry import plugin_table

    table = plugin_table(args.kind)
    if len(table) == 0:
        print("no plugins installed" + (f" of kind {args.kind}" if args.kind else ""))
        return 0
    table.pprint_all(align="<")
    return 0


SUBCOMMANDS = (_add_plugins,)
