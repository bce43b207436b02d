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

from .exceptions import InputError

__all__ = ["check_outputs", "staged_files"]


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
        If ``directory`` exists and is not a folder, or a file exists and
        ``overwrite`` is False (the message names it).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"output directory {directory} exists and is not a folder")
    if not overwrite:
        for name in names:
            if (directory / name).exists():
                raise InputError(f"{directory / name} exists; pass overwrite=True")


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
        If ``directory`` exists and is not a folder, or a destination file exists
        and ``overwrite`` is False (the message names it).
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
