"""The ``ggsltools`` command.

Each subcommand is a pair of small functions in the module of its subject: one
adds its options to the parser, the other calls the library API with them and
writes the result. No subcommand holds logic of its own, so everything the
command line does can be done from Python with the same functions. A module
lists its parser-adding functions in ``SUBCOMMANDS``; `build_parser` adds the
modules of `_MODULES` in order.
"""

import argparse
import logging
import sys

from .. import __version__
from ..exceptions import GGSLToolsError, OutputExistsError
from . import classify, evaluate, inject, inspect, kb, lensing, mock, pipeline, plugins, sources

__all__ = ["build_parser", "main"]

log = logging.getLogger("ggsltools")

#: Modules holding the subcommands, in the order ``ggsltools --help`` lists them.
_MODULES = (plugins, lensing, sources, mock, inject, kb, classify, evaluate, inspect, pipeline)


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
    for module in _MODULES:
        for add in module.SUBCOMMANDS:
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
        message = str(exc)
        if isinstance(exc, OutputExistsError) and hasattr(args, "overwrite"):
            # the library's wording names its keyword; the command has an option
            message = f"{exc.path} exists; pass --overwrite to replace it"
        print(f"ggsltools {args.command}: error: {message}", file=sys.stderr)
        return 2
    finally:
        log.removeHandler(handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
