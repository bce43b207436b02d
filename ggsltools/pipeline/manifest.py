"""Manifests: what a pipeline stage produced, from which inputs.

A stage's folder holds ``manifest.json``, written last, when the stage has
finished: the stage's fingerprint (a hash of its configuration, of its input
files and of the fingerprints of the stages it reads from), the files it wrote
with their sizes and SHA-256 digests, a summary of its results and when it ran.
A folder without a manifest is a stage that never finished. The manifest also
records the fingerprints of the stages whose results it read.
"""

import datetime
import hashlib
import json
import os
from pathlib import Path

from ..exceptions import InputError
from ..version import __version__

__all__ = [
    "MANIFEST_NAME",
    "file_digest",
    "fingerprint",
    "read_manifest",
    "write_manifest",
    "manifest_is_current",
]

#: File name of a stage's manifest, inside the stage's folder.
MANIFEST_NAME = "manifest.json"

_CHUNK = 1 << 20


def file_digest(path):
    """SHA-256 of a file's content, as a hex string.

    Parameters
    ----------
    path : str or `os.PathLike`

    Returns
    -------
    digest : str

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    return digest.hexdigest()


def _canonical(value):
    """A JSON-able, order-independent form of a configuration value."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def fingerprint(name, *, settings, inputs=(), upstream=()):
    """The fingerprint of a stage: what decides whether its results still hold.

    Parameters
    ----------
    name : str
        The stage's name.
    settings : dict
        The stage's configuration (JSON-able values; others by their repr).
    inputs : sequence of str or `os.PathLike`
        Files the stage reads that no other stage wrote (images, catalogues,
        lens models); their content is hashed, so that a file replaced by one
        with the same name is noticed.
    upstream : sequence of str
        Fingerprints of the stages whose results this one reads.

    Returns
    -------
    fingerprint : str
        A SHA-256 hex digest; it also covers the package's version.

    Raises
    ------
    InputError
        If an input file cannot be read (the message names it).
    """
    record = {
        "stage": name,
        "ggsltools": __version__,
        "settings": _canonical(settings),
        "inputs": sorted(file_digest(path) for path in inputs),
        "upstream": list(upstream),
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_manifest(
    folder, *, stage, fingerprint, outputs, summary=None, started=None, upstream=None
):
    """Write a stage's manifest, last, atomically.

    Parameters
    ----------
    folder : str or `os.PathLike`
        The stage's folder.
    stage : str
        Its name.
    fingerprint : str
        See `fingerprint`.
    outputs : sequence of str or `os.PathLike`
        Files the stage wrote, inside ``folder`` (relative paths) or absolute.
    summary : dict, optional
        JSON-able figures to report (counts, metrics...).
    started : `datetime.datetime`, optional
        When the stage started.
    upstream : dict of str to str, optional
        Fingerprints of the stages whose results it read, by name: a stage's
        results no longer hold when one of these is redone with another.

    Returns
    -------
    path : `pathlib.Path`
        The manifest.

    Raises
    ------
    InputError
        If an output is missing or lies outside ``folder``.
    """
    folder = Path(folder)
    files = {}
    for output in outputs:
        path = Path(output)
        path = path if path.is_absolute() else folder / path
        try:
            relative = path.resolve().relative_to(folder.resolve())
        except ValueError:
            raise InputError(f"stage {stage}: output {path} lies outside {folder}") from None
        if not path.is_file():
            raise InputError(f"stage {stage}: output {path} was not written")
        files[relative.as_posix()] = {"size": path.stat().st_size, "sha256": file_digest(path)}
    now = datetime.datetime.now(datetime.UTC)
    manifest = {
        "stage": stage,
        "fingerprint": fingerprint,
        "ggsltools": __version__,
        "started": (started or now).isoformat(timespec="seconds"),
        "finished": now.isoformat(timespec="seconds"),
        "outputs": files,
        "summary": _canonical(summary or {}),
        "upstream": dict(upstream or {}),
    }
    target = folder / MANIFEST_NAME
    partial = folder / (MANIFEST_NAME + ".partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial, target)
    return target


def read_manifest(folder):
    """A stage's manifest, or None where the stage never finished.

    Parameters
    ----------
    folder : str or `os.PathLike`

    Returns
    -------
    manifest : dict or None

    Raises
    ------
    InputError
        If the manifest exists but is not valid JSON (the message names it).
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the manifest {path}: {exc}") from None


def manifest_is_current(folder, fingerprint, *, verify=False):
    """Whether a stage's results in ``folder`` hold for ``fingerprint``.

    True when the manifest exists, has this fingerprint, and every output it
    lists is there with its recorded size (and, with ``verify``, its digest).

    Parameters
    ----------
    folder : str or `os.PathLike`
    fingerprint : str
    verify : bool, optional
        Also compare the outputs' SHA-256 digests (reads every file).

    Returns
    -------
    current : bool
    """
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("fingerprint") != fingerprint:
        return False
    for name, entry in manifest.get("outputs", {}).items():
        path = Path(folder) / name
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return False
        if verify and file_digest(path) != entry["sha256"]:
            return False
    return True
