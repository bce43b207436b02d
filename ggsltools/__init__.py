"""ggsltools: find galaxy-galaxy strong lenses in HST images of galaxy clusters.

The components of the pipeline are defined as interfaces in
`ggsltools.interfaces` and found through the plugin registry in
`ggsltools.registry`; the library logs through ``logging.getLogger("ggsltools")``.
"""

import logging

from .version import __version__

__all__ = ["__version__"]

logging.getLogger("ggsltools").addHandler(logging.NullHandler())
