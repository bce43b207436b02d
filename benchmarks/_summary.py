"""The one line each benchmark script gives ``run.py`` for its summary table."""

__all__ = ["summary"]

#: Prefix of the lines ``run.py`` collects.
PREFIX = "SUMMARY "


def summary(name, text):
    """Print the headline of a benchmark: what was measured, against what, the ratio."""
    print(f"{PREFIX}{name}: {text}", flush=True)
