"""A picture of a knowledge base: RGB cutouts of simulated lenses and non-lenses.

`kb_gallery` draws a grid like Fig. 5 of Angora et al. (2023): simulated lenses
ordered by Einstein radius along the columns and by source magnitude along the
rows, each labelled with its source redshift, Einstein radius and magnitude,
and rows of non-GGSL cutouts below. The RGB stretch is
`~ggsltools.imaging.display.rgb_cutout`'s.
"""

from pathlib import Path

import numpy as np

from ..exceptions import InputError
from ..imaging.display import rgb_cutout
from ..staging import check_figure_path, check_paths, staged_paths
from .store import KnowledgeBase

__all__ = ["gallery_layout", "kb_gallery"]


def gallery_layout(theta_e, mag, *, columns, rows, rng):
    """Choose simulated lenses for a grid and place them.

    ``columns x rows`` lenses are drawn (all of them if there are fewer), split
    into ``columns`` groups of increasing Einstein radius, and each column is
    ordered by increasing magnitude from top to bottom.

    Parameters
    ----------
    theta_e, mag : array-like
        Einstein radius and source magnitude of each candidate lens.
    columns, rows : int
        Size of the grid.
    rng : `numpy.random.Generator`
        Draws the lenses shown when there are more than cells.

    Returns
    -------
    grid : `~numpy.ndarray` of int, shape (rows, columns)
        Position (into ``theta_e``) of the lens of each cell; -1 for an empty cell.
    """
    theta_e = np.asarray(theta_e, dtype=float)
    mag = np.asarray(mag, dtype=float)
    n_cells = rows * columns
    chosen = np.flatnonzero(np.isfinite(theta_e) & np.isfinite(mag))
    if chosen.size > n_cells:
        chosen = np.sort(rng.choice(chosen, size=n_cells, replace=False))
    chosen = chosen[np.argsort(theta_e[chosen], kind="stable")]
    grid = np.full((rows, columns), -1, dtype=int)
    for col, group in enumerate(np.array_split(chosen, columns)):
        group = group[np.argsort(mag[group], kind="stable")]
        grid[: group.size, col] = group
    return grid


def kb_gallery(
    path,
    output,
    *,
    columns=6,
    rows=4,
    negative_rows=1,
    band=None,
    seed=0,
    overwrite=False,
):
    """Draw RGB cutouts of a knowledge base in a labelled grid.

    Parameters
    ----------
    path : str or `os.PathLike`
        The knowledge base (three bands).
    output : str or `os.PathLike`
        The picture file; its extension sets the format (PNG, PDF...).
    columns, rows : int, optional
        Size of the grid of simulated lenses.
    negative_rows : int, optional
        Rows of non-GGSL cutouts drawn below them.
    band : str, optional
        Band of the source magnitudes (``mag_<band>``); the reddest by default.
    seed : int, optional
        Seed of the choice of cutouts.
    overwrite : bool, optional
        Replace an existing picture.

    Returns
    -------
    output : `pathlib.Path`

    Raises
    ------
    InputError
        If the picture exists and ``overwrite`` is False, its folder does not
        exist, its extension is not a format Matplotlib writes, the knowledge
        base does not have three bands, or it holds no cutout to show.
    """
    from matplotlib.figure import Figure

    output = Path(output)
    check_paths([output], overwrite=overwrite)  # before any work
    check_figure_path(output)
    if min(columns, rows) < 1 or negative_rows < 0:
        raise InputError("columns and rows must be at least 1, negative rows at least 0")
    rng = np.random.default_rng(seed)
    with KnowledgeBase(path) as kb:
        if len(kb.bands) != 3:
            raise InputError(f"{path} has {len(kb.bands)} bands; an RGB picture needs three")
        band = band or kb.bands[-1]
        meta = kb.metadata
        if f"mag_{band}" not in meta.colnames:
            raise InputError(f"{path} has no source magnitudes in band {band!r}")
        positives = np.flatnonzero(kb.labels == 1)
        theta = np.asarray(meta["theta_e"].to_value("arcsec"))[positives]
        mags = np.asarray(meta[f"mag_{band}"], dtype=float)[positives]
        grid = gallery_layout(theta, mags, columns=columns, rows=rows, rng=rng)
        cells = [[positives[i] if i >= 0 else -1 for i in row] for row in grid]
        negatives = np.flatnonzero(kb.labels == 0)
        n_neg = min(negatives.size, negative_rows * columns)
        shown = np.sort(rng.choice(negatives, size=n_neg, replace=False)) if n_neg else []
        for r in range(negative_rows):
            row = list(shown[r * columns : (r + 1) * columns])
            cells.append(row + [-1] * (columns - len(row)))
        used = sorted({i for row in cells for i in row if i >= 0})
        if not used:
            raise InputError(f"{path} holds no cutout to draw")
        pictures = dict(zip(used, rgb_cutout(kb.read(used))))
        fig = Figure(figsize=(1.6 * columns, 1.85 * len(cells)))
        axes = fig.subplots(len(cells), columns, squeeze=False)
        for r, row in enumerate(cells):
            for c, index in enumerate(row):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if index < 0:
                    ax.set_axis_off()
                    continue
                ax.imshow(pictures[index], origin="lower")
                if kb.labels[index] == 1:
                    text = (
                        f"$z_s$={float(meta['z_s'][index]):.2f} "
                        f'$\\theta_E$={meta["theta_e"][index].to_value("arcsec"):.2f}"\n'
                        f"{band}={float(meta[f'mag_{band}'][index]):.1f}"
                    )
                else:
                    text = f"non-GGSL\n{meta['cluster'][index]} {meta['member_id'][index]}"
                ax.set_xlabel(text, fontsize=7)
        fig.suptitle(f"GGSL: theta_E grows to the right, {band} magnitude downwards", fontsize=9)
        fig.tight_layout()
    with staged_paths([output], overwrite=overwrite, prefix="gallery") as (staged,):
        fig.savefig(staged, dpi=110)
    return output
