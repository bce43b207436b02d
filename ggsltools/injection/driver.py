"""Inject many simulated galaxy-galaxy lenses into one set of images.

`inject_lenses` is the batch step of Angora et al. (2023, Sect. 3.1): secondary
critical lines with 0.2" < theta_E < 3.5" are drawn with probability
proportional to theta_E, a background source is drawn for each, and every lens
is simulated on its own stamp and added to one copy of the images.
"""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import NDData
from astropy.table import QTable, vstack

from ..exceptions import GGSLToolsWarning, InputError
from ..imaging.images import check_multiband
from ..imaging.io import write_image
from ..interfaces import InjectionResult
from ..lensing.critical import draw_lines, select_secondary
from ..plugins.injector import records_to_table
from ..staging import staged_files
from .stamps import stamp_box

__all__ = ["StampEdgeWarning", "inject_lenses", "injection_file_names", "write_injections"]


class StampEdgeWarning(GGSLToolsWarning):
    """Some lenses were not injected: their stamp reaches the edge of the images."""


def _seed_of(rng):
    """The seed a generator was made from, when it can be told (int or None)."""
    seed_seq = getattr(rng.bit_generator, "seed_seq", None)
    entropy = getattr(seed_seq, "entropy", None)
    if isinstance(entropy, int | np.integer) and not getattr(seed_seq, "spawn_key", ()):
        return int(entropy)
    return None


def inject_lenses(
    images,
    lens_model,
    lines,
    population,
    *,
    n,
    injector,
    rng,
    theta_min=0.2 * u.arcsec,
    theta_max=3.5 * u.arcsec,
    dz_min=0.4,
    progress=False,
):
    """Inject ``n`` lensed sources behind secondary critical lines of a cluster.

    The lines are filtered with `~ggsltools.lensing.critical.select_secondary`
    and ``n`` of them drawn with probability proportional to theta_E
    (`~ggsltools.lensing.critical.draw_lines`, with replacement); ``n`` sources
    are drawn from ``population`` with z >= z_lens + ``dz_min``; then each lens
    is injected in turn, on its own stamp, into one copy of the images. A line
    whose stamp does not lie wholly on the images (off the outermost pixels) is
    skipped, counted and reported in one `StampEdgeWarning`.

    Randomness is drawn in a fixed order (lines, sources, then each injection),
    so one seed gives the same images and catalogue.

    Parameters
    ----------
    images : dict of str to `~astropy.nddata.NDData`
        Band name to image, on one grid (see `~ggsltools.injection` for the
        units and meta the injector needs). Never modified.
    lens_model : `~ggsltools.interfaces.LensModel`
        The cluster's deflection field.
    lines : `~astropy.table.QTable`
        Critical lines with caustics (`~ggsltools.lensing.critical`), classified.
    population : `~ggsltools.interfaces.SourcePopulation`
        Samples the sources; the injector renders them.
    n : int
        Number of lenses drawn (injected ones are ``n`` minus the skipped).
    injector : `~ggsltools.interfaces.Injector`
        For example `~ggsltools.plugins.injector.CausticInjector`. An injector
        with a ``lensed_stamp`` method adds its stamps in place; others go
        through `~ggsltools.interfaces.Injector.inject`.
    rng : `numpy.random.Generator`
        The only source of randomness.
    theta_min, theta_max : `~astropy.units.Quantity`, optional
        Range of Einstein radii of the secondary lines kept.
    dz_min : float, optional
        Smallest source redshift above the lens (paper: 0.4).
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    result : `~ggsltools.interfaces.InjectionResult`
        ``result.images``: the injected images (data copied once; WCS, mask and
        uncertainty shared with the input). ``result.record``: the injection
        catalogue, a `~astropy.table.QTable` with one row an injection (the
        injector's record) plus ``injection`` (its rank among the ``n``
        draws); ``meta`` holds ``seed`` (when the generator
        tells it), ``n_requested``, ``n_injected``, ``n_skipped_edge``,
        ``skipped_lines`` (ids), ``n_lines_selected``, ``theta_range_arcsec``,
        ``dz_min``, ``injector`` and the population's provenance.

    Raises
    ------
    InputError
        If ``n`` is negative, no line is selected, or the injector rejects the
        inputs.
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng={rng!r} must be a numpy.random.Generator")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise InputError(f"n={n} must be a non-negative integer")
    n = int(n)
    bands = check_multiband(images)
    seed = _seed_of(rng)
    selected = select_secondary(lines, theta_min=theta_min, theta_max=theta_max)
    if len(selected) == 0:
        raise InputError(
            f"no closed secondary tangential line with {theta_min} < theta_E < {theta_max}"
        )
    drawn = draw_lines(selected, n, rng=rng)
    sources = population.sample(n, z_min=lens_model.z_lens + float(dz_min), rng=rng)

    first = images[bands[0]]
    wcs, shape = first.wcs.celestial, np.shape(first.data)
    arrays = {band: np.array(images[band].data, copy=True) for band in bands}
    size = getattr(injector, "stamp_size", None)
    stamped = hasattr(injector, "lensed_stamp")
    current = images
    records, tables, skipped = [], [], []
    indices = range(n)
    if progress:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="inject", unit="lens")
    for i in indices:
        line = drawn[i]
        if size is not None:
            box = stamp_box(
                lens_model,
                wcs,
                shape,
                u.Quantity(line["x"], u.arcsec).value,
                u.Quantity(line["y"], u.arcsec).value,
                size=size,
            )
            if not box.inside:
                skipped.append(line["id"] if "id" in line.colnames else i)
                continue
        if stamped:
            stamp = injector.lensed_stamp(current, lens_model, line, sources[i], rng=rng)
            image_slices, stamp_slices = stamp.box.slices()
            for band in bands:
                arrays[band][image_slices] += stamp.stamps[band][stamp_slices]
            stamp.record["injection"] = i
            records.append(stamp.record)
        else:
            result = injector.inject(current, lens_model, line, sources[i], rng=rng)
            current = result.images
            arrays = {band: np.asarray(current[band].data) for band in bands}
            result.record["injection"] = [i]
            tables.append(result.record)

    out = {
        band: NDData(
            arrays[band],
            wcs=images[band].wcs,
            unit=images[band].unit,
            mask=images[band].mask,
            uncertainty=images[band].uncertainty,
            meta=dict(images[band].meta or {}),
        )
        for band in bands
    }
    if records:
        catalogue = records_to_table(records)
        catalogue["injection"] = [r["injection"] for r in records]
    elif tables:
        catalogue = vstack(tables)
    else:
        catalogue = QTable()
    if skipped:
        warnings.warn(
            f"{len(skipped)} of {n} drawn lines were not injected: their "
            f"{size}-pixel stamps reach the edge of the images (line ids "
            f"{', '.join(str(s) for s in sorted(set(skipped), key=str))})",
            StampEdgeWarning,
            stacklevel=2,
        )
    catalogue.meta.update(
        {
            "seed": seed,
            "n_requested": n,
            "n_injected": n - len(skipped),
            "n_skipped_edge": len(skipped),
            "skipped_lines": [
                int(s) if isinstance(s, int | np.integer) else str(s) for s in skipped
            ],
            "n_lines_selected": len(selected),
            "theta_range_arcsec": [
                float(u.Quantity(theta_min, u.arcsec).value),
                float(u.Quantity(theta_max, u.arcsec).value),
            ],
            "dz_min": float(dz_min),
            "z_lines": lines.meta.get("z_source"),
            "injector": repr(injector),
            "population": dict(sources.meta.get("provenance", {})),
        }
    )
    return InjectionResult(images=out, record=catalogue)


def injection_file_names(bands, *, name="injected"):
    """File names `write_injections` writes: band -> image, and ``catalogue``.

    Parameters
    ----------
    bands : iterable of str
        Band names.
    name : str, optional
        Stem of the file names.

    Returns
    -------
    names : dict of str to str
    """
    files = {band: f"{name}_{band}.fits" for band in bands}
    files["catalogue"] = f"{name}_catalogue.ecsv"
    return files


def write_injections(result, directory, *, name="injected", overwrite=False):
    """Write injected images and their catalogue, all files or none.

    Files written in ``directory``, for ``name="injected"``: one image per band,
    ``injected_<band>.fits`` (`~ggsltools.imaging.io.write_image`), and the
    injection catalogue ``injected_catalogue.ecsv``, written last. They are
    staged in a temporary folder and moved into place together
    (`~ggsltools.staging.staged_files`).

    Parameters
    ----------
    result : `~ggsltools.interfaces.InjectionResult`
        What `inject_lenses` returned.
    directory : str or `os.PathLike`
        Output folder, created if needed.
    name : str, optional
        Stem of the file names.
    overwrite : bool, optional
        Replace existing files.

    Returns
    -------
    paths : dict of str to `pathlib.Path`
        Band -> image file, and ``catalogue``.

    Raises
    ------
    InputError
        If a file exists and ``overwrite`` is False, or ``directory`` is not a
        folder.
    """
    files = injection_file_names(result.images, name=name)
    with staged_files(directory, list(files.values()), overwrite=overwrite, prefix=name) as tmp:
        for band, image in result.images.items():
            write_image(image, tmp / files[band])
        result.record.write(tmp / files["catalogue"], format="ascii.ecsv")
    return {key: Path(directory) / file for key, file in files.items()}
