"""The package version, from the installed metadata or the file setuptools_scm writes."""

__all__ = ["__version__"]

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("ggsltools")
    except PackageNotFoundError:
        __version__ = "0.0.0.dev0+unknown"
