"""`plot_population`: the distributions of a sampled source table at a glance.

The panels mirror Angora et al. (2023) Fig. 3 (magnitude distribution against the
number counts, p(z) in each magnitude bin) and Fig. 4 left (R_e against z with the
band it is drawn in), plus the Sersic index, axis ratio and a colour against z.
Matplotlib is imported only when the function is called.
"""

import itertools

import astropy.units as u
import numpy as np

from ..exceptions import InputError

__all__ = ["plot_population"]


def plot_population(
    table,
    *,
    population=None,
    reference_band="F814W",
    colour=("F435W", "F814W"),
    path=None,
    figure=None,
):
    """Plot the distributions of a source table.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        Output of `~ggsltools.interfaces.SourcePopulation.sample` or
        `~ggsltools.sources.sample_sources`.
    population : `~ggsltools.plugins.sources.SersicPopulation`, optional
        The population that drew the table: its number counts, p(z | bin) and
        size relation are overplotted.
    reference_band : str, optional
        Band of the magnitude histogram and of the p(z) bins.
    colour : tuple of str, optional
        Two bands whose colour is plotted against z (skipped if either is
        missing).
    path : str or `os.PathLike`, optional
        Write the figure there (format from the extension).
    figure : `matplotlib.figure.Figure`, optional
        Figure to draw into; a new 15 x 9 inch one by default.

    Returns
    -------
    figure : `matplotlib.figure.Figure`

    Raises
    ------
    InputError
        If the table lacks ``z``, ``r_e_kpc``, ``n``, ``q`` or the reference
        magnitude column.
    """
    from matplotlib.figure import Figure

    mag_col = f"mag_{reference_band}"
    for name in ("z", "r_e_kpc", "n", "q", mag_col):
        if name not in table.colnames:
            raise InputError(f"source table has no column {name!r}")
    mag = u.Magnitude(table[mag_col], u.ABmag).value
    z = np.asarray(u.Quantity(table["z"]).value, dtype=float)
    r_kpc = table["r_e_kpc"].to_value(u.kpc)
    fig = figure if figure is not None else Figure(figsize=(15, 9), layout="constrained")
    axes = fig.subplots(2, 3)

    ax = axes[0, 0]
    edges = np.arange(np.floor(mag.min() * 2) / 2, np.ceil(mag.max() * 2) / 2 + 0.25, 0.25)
    ax.hist(mag, bins=edges, density=True, color="0.7", label=f"sample (N={len(mag)})")
    if population is not None:
        lo, hi = population.mag_range
        grid = np.linspace(lo, hi, 500)
        ax.plot(
            grid,
            population.number_counts.pdf(grid, mag_min=lo, mag_max=hi),
            "k-",
            label="number counts N(m)",
        )
    ax.set_yscale("log")
    ax.set_xlabel(f"{reference_band} [AB mag]")
    ax.set_ylabel("probability density [1/mag]")
    ax.legend(fontsize="small")

    ax = axes[0, 1]
    z_edges = np.linspace(0.0, max(7.0, z.max()), 71)
    if population is not None:
        mag_edges = population.redshifts.mag_edges
        z_min = float(table.meta.get("provenance", {}).get("z_min", z.min()))
    else:
        mag_edges = np.array([22.0, 24, 25, 26, 27, 28, 29])
        z_min = z.min()
    colours = [f"C{k}" for k in range(len(mag_edges) - 1)]
    for k, (lo, hi) in enumerate(itertools.pairwise(mag_edges)):
        sel = (mag >= lo) & ((mag < hi) | ((k == len(mag_edges) - 2) & (mag <= hi)))
        if sel.sum() > 1:
            ax.hist(
                z[sel],
                bins=z_edges,
                density=True,
                histtype="step",
                color=colours[k],
                label=f"{lo:g}-{hi:g} ({sel.sum()})",
            )
        if population is not None:
            grid = np.linspace(z_min, population.redshifts.z_max, 400)
            ax.plot(
                grid,
                population.redshifts.pdf(grid, bin=k, z_min=z_min),
                "--",
                color=colours[k],
                lw=1,
            )
    ax.set_xlabel("z")
    ax.set_ylabel("p(z | mag bin)")
    ax.legend(fontsize="x-small", title=reference_band, title_fontsize="x-small")

    ax = axes[0, 2]
    ax.scatter(z, r_kpc, s=2, alpha=0.3, color="C3", rasterized=True)
    if population is not None:
        grid = np.linspace(0.0, population.redshifts.z_max, 500)
        lo, hi = population.sizes.band(grid)
        ax.plot(grid, population.sizes.mean(grid).value, "k-", label="R_e(z)")
        ax.fill_between(grid, lo.value, hi.value, color="C3", alpha=0.2, label="sampling band")
        ax.legend(fontsize="small")
    ax.set_xlabel("z")
    ax.set_ylabel("R_e [kpc]")

    for ax, name, label in ((axes[1, 0], "n", "Sersic index n"), (axes[1, 1], "q", "axis ratio q")):
        ax.hist(np.asarray(u.Quantity(table[name]).value), bins=40, color="0.6")
        ax.set_xlabel(label)
        ax.set_ylabel("sources")

    ax = axes[1, 2]
    blue, red = (f"mag_{b}" for b in colour)
    if blue in table.colnames and red in table.colnames:
        c = u.Magnitude(table[blue], u.ABmag).value - u.Magnitude(table[red], u.ABmag).value
        finite = np.isfinite(c)
        ax.scatter(z[finite], c[finite], s=2, alpha=0.3, color="C0", rasterized=True)
        ax.set_ylim(min(-0.5, np.nanmin(c[finite], initial=0)), 6)
        ax.set_ylabel(f"{colour[0]} - {colour[1]} [mag] ({(~finite).sum()} with no flux)")
    ax.set_xlabel("z")
    if path is not None:
        fig.savefig(path)
    return fig
