"""Exceptions and warnings raised by ggsltools.

Every error the library raises on purpose is a subclass of `GGSLToolsError`, and
every message names the file, column, key or value that was wrong, so that a user
can fix the input without reading a traceback.
"""

from pathlib import Path

from astropy.utils.exceptions import AstropyUserWarning

__all__ = [
    "ExportError",
    "GGSLToolsError",
    "GGSLToolsWarning",
    "InputError",
    "ModelFormatError",
    "ModelFormatWarning",
    "OutputExistsError",
    "PluginError",
    "PluginWarning",
]


class GGSLToolsError(Exception):
    """Base class of all the errors ggsltools raises on purpose."""


class InputError(GGSLToolsError, ValueError):
    """An input value, file, column or configuration key is invalid.

    The message names the offending input (file path, column name, key or value).
    """


class ModelFormatError(InputError):
    """A lens-model file (LensTool ``.par``, potfile, deflection map) cannot be read.

    The message names the file and, where known, the line.
    """


class OutputExistsError(InputError):
    """An output file or folder exists and replacing it was not asked for.

    Parameters
    ----------
    path : str or `os.PathLike`
        The existing output.

    Attributes
    ----------
    path : `pathlib.Path`
        The existing output; the ``ggsltools`` command names it and its
        ``--overwrite`` option.
    """

    def __init__(self, path):
        self.path = Path(path)
        super().__init__(f"{self.path} exists; pass overwrite=True to replace it")

    def __reduce__(self):
        return type(self), (self.path,)


class PluginError(GGSLToolsError, LookupError):
    """A plugin is missing, cannot be loaded or does not implement its interface.

    The message lists the plugins that are installed for the group asked for.
    """


class GGSLToolsWarning(AstropyUserWarning):
    """Base class of the warnings ggsltools emits."""


class PluginWarning(GGSLToolsWarning):
    """A plugin could not be loaded and was skipped, or two plugins share a name."""


class ModelFormatWarning(GGSLToolsWarning):
    """A lens-model file holds something that was ignored (an unknown keyword, say)."""


class ExportError(GGSLToolsError):
    """A trained network could not be exported faithfully (nothing was written).

    The message says what disagreed (for example the largest difference between
    the exported model's outputs and the original network's).
    """
