"""``python -m ggsltools`` runs the ``ggsltools`` command."""

import sys

from .cli import main

__all__ = []

sys.exit(main())
