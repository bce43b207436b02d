"""One door for lens models on disk: pick the plugin that reads the files given."""

from pathlib import Path

from ..exceptions import InputError, PluginError
from ..registry import get_plugin

__all__ = ["read_lens_model"]


def _guess_plugin(paths):
    suffixes = ["".join(p.suffixes[-2:]) if p.suffix == ".gz" else p.suffix for p in paths]
    if len(paths) == 1 and suffixes[0] == ".par":
        return "lenstool-par"
    if len(paths) == 2 and all(s in (".fits", ".fit", ".fits.gz") for s in suffixes):
        return "lenstool-maps"
    raise InputError(
        f"cannot tell which lens-model plugin reads {', '.join(map(str, paths))}: "
        "give one LensTool .par file, or two deflection FITS maps (x then y), "
        "or name the plugin"
    )


def read_lens_model(*paths, plugin=None, **options):
    """Read a lens model from files with the plugin that understands them.

    Parameters
    ----------
    *paths : str or `os.PathLike`
        The model's files: one LensTool ``.par`` file (read by the
        ``lenstool-par`` plugin), or the x and y deflection FITS maps (read by
        ``lenstool-maps``), or whatever the named plugin's ``read`` takes.
    plugin : str, type, optional
        Lens-model plugin (a name, or a class with a ``read`` method); guessed
        from the file names by default.
    **options
        Keyword options of the plugin's ``read`` (for deflection maps:
        ``z_lens``, ``normalisation_z_source``, ``units``...).

    Returns
    -------
    model : `~ggsltools.interfaces.LensModel`

    Raises
    ------
    InputError
        If a file does not exist, or no plugin can be guessed.
    PluginError
        If the named plugin is not installed or cannot read files.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no lens-model file given")
    for path in paths:
        if not path.exists():
            raise InputError(f"lens-model file {path} does not exist")
    cls = get_plugin("lens_models", plugin if plugin is not None else _guess_plugin(paths))
    if not hasattr(cls, "read"):
        raise PluginError(f"lens-model plugin {cls.__name__} has no read() for files")
    return cls.read(*paths, **options)
