"""Output files that appear together or not at all.

Commands that write several files (images per band, catalogues, lens files) write
them into a hidden temporary folder next to their destination and move them into
place only when everything has been written, so an interrupted or failed run never
leaves a set of files that looks complete.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .exceptions import InputError, OutputExistsError

__all__ = ["check_figure_path", "check_outputs", "check_paths", "staged_files", "staged_paths"]


def check_outputs(directory, names, *, overwrite=False):
    """Refuse, before any work is done, to write over existing outputs.

    Parameters
    ----------
    directory : str or `os.PathLike`
        Destination folder.
    names : sequence of str
        File names to be written there.
    overwrite : bool, optional
        Existing files will be replaced: nothing to check.

    Raises
    ------
    InputError
        If ``directory`` exists and is not a folder.
    OutputExistsError
        If a file exists and ``overwrite`` is False (the message names it).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"output directory {directory} exists and is not a folder")
    if not overwrite:
        for name in names:
            if (directory / name).exists():
                raise OutputExistsError(directory / name)


def check_paths(paths, *, overwrite=False):
    """Refuse, before any work is done, output files that cannot be written.

    Unlike `check_outputs`, the files may lie in different folders, and those
    folders must exist (a mistyped folder is reported rather than created).

    Parameters
    ----------
    paths : sequence of str or `os.PathLike`
        Output files.
    overwrite : bool, optional
        Existing files will be replaced.

    Raises
    ------
    InputError
        If a path is given twice, is a folder, or its folder does not exist.
    OutputExistsError
        If a file exists and ``overwrite`` is False.
    """
    seen = {}
    for path in map(Path, paths):
        key = path.resolve()
        if key in seen:
            raise InputError(f"output {path} is given twice (also as {seen[key]})")
        seen[key] = path
        folder = path.parent
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputError(f"cannot write {path}: folder {folder} {what}")
        if path.is_dir():
            raise InputError(f"output {path} is a folder, not a file name")
        if path.exists() and not overwrite:
            raise OutputExistsError(path)


def check_figure_path(path):
    """Refuse, before any work is done, a figure file Matplotlib cannot write.

    Parameters
    ----------
    path : str or `os.PathLike`
        Output figure; its extension gives the format.

    Returns
    -------
    format : str
        The format (the extension, lower case).

    Raises
    ------
    InputError
        If the extension is not a format Matplotlib writes (the message lists them).
    """
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = Path(path).suffix[1:].lower()
    if fmt not in formats:
        raise InputError(
            f"cannot write figure {path}: unknown extension {Path(path).suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(formats))}"
        )
    return fmt


@contextlib.contextmanager
def staged_files(directory, names, *, overwrite=False, prefix="ggsltools"):
    """Stage files in a temporary folder and move them into ``directory`` at the end.

    Parameters
    ----------
    directory : str or `os.PathLike`
        Destination folder, created if needed.
    names : sequence of str
        File names the block may write, in the order they are moved into place
        (put the file that marks a set as complete last). Names the block did not
        write are skipped.
    overwrite : bool, optional
        Replace existing files; otherwise an existing destination is an error
        raised before anything is written.
    prefix : str, optional
        Prefix of the temporary folder's name.

    Yields
    ------
    staging : `pathlib.Path`
        The temporary folder to write the files in.

    Raises
    ------
    InputError
        If ``directory`` exists and is not a folder.
    OutputExistsError
        If a destination file exists and ``overwrite`` is False (the message
        names it).
    """
    directory = Path(directory)
    check_outputs(directory, names, overwrite=overwrite)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=directory))
    try:
        yield staging
        for name in names:
            if (staging / name).exists():
                os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged_paths(paths, *, overwrite=False, prefix="ggsltools"):
    """Stage output files that may lie in different folders, moving them at the end.

    The files are checked first (`check_paths`), written in hidden temporary
    folders beside their destinations, and moved into place only when the block
    ends without an error: either every file written appears, or none does.

    Parameters
    ----------
    paths : sequence of str or `os.PathLike`
        Output files, in the order they are moved into place (put the file that
        marks a set as complete last). Files the block did not write are skipped.
    overwrite : bool, optional
        Replace existing files; otherwise an existing file is an error raised
        before anything is written.
    prefix : str, optional
        Prefix of the temporary folders' names.

    Yields
    ------
    staged : list of `pathlib.Path`
        Where to write each file, in the order of ``paths``.

    Raises
    ------
    InputError
        If a path is given twice, is a folder, or its folder does not exist.
    OutputExistsError
        If a file exists and ``overwrite`` is False.
    """
    paths = [Path(path) for path in paths]
    check_paths(paths, overwrite=overwrite)
    folders = {}
    try:
        for path in paths:
            key = path.parent.resolve()
            if key not in folders:
                folders[key] = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=path.parent))
        staged = [folders[path.parent.resolve()] / path.name for path in paths]
        yield staged
        for tmp, path in zip(staged, paths, strict=True):
            if tmp.exists():
                os.replace(tmp, path)
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
