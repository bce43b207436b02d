"""Benchmark: critical lines, caustics and Einstein radii on a 2048 x 2048 map.

The lens is an analytic cluster: a cored isothermal halo and 100 singular
isothermal members. The script times

- the Hessian of the potential on the grid (the model's cost, reported apart);
- the line finder alone given that Hessian (contours, Newton refinement,
  caustics, areas, Einstein radii), with and without refinement, and
  `ggsltools.lensing.critical.critical_lines` given that Hessian (adding the
  pixel coordinates, the table and the classification);
- lenstronomy's ``LensModelExtensions.critical_curve_caustics`` on the same
  model and grid, when lenstronomy is installed, end to end (it computes its own
  magnification map) and stage by stage (the map, then its contouring of 1/mu
  with scikit-image and the ray shooting of the vertices);

and prints the figures, their ratios and how well the Einstein radii of the two
agree. Run it as ``python benchmarks/bench_critical.py``.
"""

import time

import astropy.units as u
import numpy as np
from _summary import summary
from astropy.coordinates import SkyCoord

from ggsltools.interfaces import LensModel
from ggsltools.lensing.critical import KINDS, _lines_from_hessian, critical_lines
from ggsltools.lensing.maps import grid_coordinates, tangent_plane_grid

N_PIX = 2048
SCALE = 0.06
N_MEMBERS = 100
HALO_B, HALO_RC = 25.0, 2.0
Z_LENS, Z_SOURCE = 0.4, 2.0


class Cluster(LensModel):
    """Cored isothermal halo plus SIS members, strengths fixed at Z_SOURCE.

    ``hessian_grid_arcsec`` returns a Hessian computed beforehand when one is
    stored, so that the line finder can be timed without the model.
    """

    def __init__(self, members):
        super().__init__(z_lens=Z_LENS, center=SkyCoord(3.586 * u.deg, -30.4 * u.deg))
        self.members = members
        self.cached = None

    def _components(self):
        yield 0.0, 0.0, HALO_B, HALO_RC
        for x0, y0, b in self.members:
            yield x0, y0, b, 0.0

    def deflection_arcsec(self, x, y, *, z_source):
        ax = np.zeros(np.shape(x))
        ay = np.zeros(np.shape(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            for x0, y0, b, rc in self._components():
                dx, dy = x - x0, y - y0
                r = np.hypot(dx, dy)
                f = b * (np.hypot(r, rc) - rc) / r
                ax += f * dx / r
                ay += f * dy / r
        return np.stack([ax, ay])

    def hessian_arcsec(self, x, y, *, z_source, step=None):
        out = np.zeros((3,) + np.shape(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            for x0, y0, b, rc in self._components():
                dx, dy = x - x0, y - y0
                r2 = dx * dx + dy * dy
                s = np.sqrt(r2 + rc * rc)
                a = b * (s - rc) / r2
                c = (b * rc * (s - rc) / (s * r2) - a) / r2
                out[0] += a + c * dx * dx
                out[1] += c * dx * dy
                out[2] += a + c * dy * dy
        return out

    def hessian_grid_arcsec(self, x, y, *, z_source):
        if self.cached is not None:
            return self.cached
        return self.hessian_arcsec(x, y, z_source=z_source)


def make_members(rng):
    radius = rng.uniform(18.0, 58.0, N_MEMBERS)
    angle = rng.uniform(0, 2 * np.pi, N_MEMBERS)
    b = np.exp(rng.uniform(np.log(0.15), np.log(1.2), N_MEMBERS))
    return list(zip(radius * np.cos(angle), radius * np.sin(angle), b))


def best_of(repeat, function):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def lenstronomy_run(members, x_center, y_center):
    from lenstronomy.LensModel.lens_model import LensModel as LenstronomyModel
    from lenstronomy.LensModel.lens_model_extensions import LensModelExtensions

    models = ["NIE"] + ["SIS"] * len(members)
    kwargs = [
        {
            "theta_E": HALO_B,
            "e1": 0.0,
            "e2": 0.0,
            "s_scale": HALO_RC,
            "center_x": 0.0,
            "center_y": 0.0,
        }
    ]
    kwargs += [{"theta_E": b, "center_x": x0, "center_y": y0} for x0, y0, b in members]
    lens_model = LenstronomyModel(models)
    extensions = LensModelExtensions(lens_model)

    def run():
        return extensions.critical_curve_caustics(
            kwargs,
            compute_window=N_PIX * SCALE,
            grid_scale=SCALE,
            center_x=x_center,
            center_y=y_center,
        )

    def contour_stage(inverse_magnification, x, y):
        """The steps critical_curve_caustics takes once it has the map."""
        from skimage.measure import find_contours

        paths = find_contours(inverse_magnification, 0.0)
        for path in paths:
            rows, cols = path[:, 0], path[:, 1]
            lens_model.ray_shooting(
                np.interp(cols, np.arange(x.shape[1]), x[0]),
                np.interp(rows, np.arange(x.shape[0]), y[:, 0]),
                kwargs,
            )
        return paths

    def magnification(x, y):
        return lens_model.magnification(x, y, kwargs)

    return run, magnification, contour_stage


def closed_theta(xs, ys):
    """Einstein radii of lenstronomy's closed contours (shoelace)."""
    out = []
    for x, y in zip(xs, ys):
        if len(x) > 3 and x[0] == x[-1] and y[0] == y[-1]:
            area = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
            out.append(np.sqrt(area / np.pi))
    return np.sort(out)


def main():
    rng = np.random.default_rng(20230801)
    model = Cluster(make_members(rng))
    grid = tangent_plane_grid(
        model.center, size=N_PIX * SCALE * u.arcsec, pixel_scale=SCALE * u.arcsec
    )
    print(f'grid {N_PIX} x {N_PIX} at {SCALE}"/px, {N_MEMBERS} members + halo')

    t_coords, (x, y) = best_of(3, lambda: grid_coordinates(model, grid))
    t_hessian, hessian = best_of(1, lambda: model.hessian_arcsec(x, y, z_source=Z_SOURCE))
    print(f"pixel -> model coordinates : {t_coords:8.3f} s")
    print(f"Hessian of the model       : {t_hessian:8.3f} s")

    stage = {}
    for refine in (0, 2):
        # The line finder alone, from the Hessian: contours, refinement, caustics,
        # areas and Einstein radii.
        stage[refine], _ = best_of(
            5,
            lambda steps=refine: _lines_from_hessian(
                model, grid, hessian, z_source=Z_SOURCE, kinds=tuple(KINDS), refine=steps
            ),
        )
    model.cached = hessian
    t_public, lines = best_of(3, lambda: critical_lines(model, grid, z_source=Z_SOURCE))
    model.cached = None
    closed = lines[lines["closed"]]
    print(f"lines from the Hessian     : {stage[0]:8.3f} s (refine=0), {stage[2]:.3f} s (refine=2)")
    print(
        f"critical_lines, Hessian given: {t_public:6.3f} s (coordinates, lines, table, "
        f"classification): {len(lines)} lines, {len(closed)} closed, "
        f"{int(np.sum(lines['classification'] == 'secondary'))} secondary, "
        f"{int(np.sum(lines['n_vertices']))} vertices"
    )
    total = t_hessian + t_public
    print(f"ours, end to end (refine=2): {total:8.3f} s")

    try:
        run, magnification, contour_stage = lenstronomy_run(
            model.members, *_lenstronomy_centre(x, y)
        )
    except ImportError:
        print("lenstronomy is not installed: no comparison")
        return
    t_lenstronomy, result = best_of(1, run)
    # Its stages apart, on a regular grid like ours: the magnification map, then
    # find_contours on 1/mu and ray shooting of the vertices.
    xs = x.mean(axis=0)
    ys = y.mean(axis=1)
    xg, yg = np.meshgrid(xs, ys)
    t_magnification, mu = best_of(1, lambda: magnification(xg, yg))
    inverse = 1.0 / mu
    t_contours, _ = best_of(3, lambda: contour_stage(inverse, xg, yg))
    print(
        f"lenstronomy critical_curve_caustics: {t_lenstronomy:8.3f} s "
        f"({len(result[0])} contours); its stages: magnification map "
        f"{t_magnification:.3f} s, contours + ray shooting {t_contours:.3f} s"
    )
    print(f"ratio lenstronomy / ours, end to end               : {t_lenstronomy / total:7.1f}")
    print(f"ratio lenstronomy / ours, lines from a given Hessian: {t_contours / stage[2]:7.1f}")
    summary(
        "critical lines",
        f"2048^2, 100 members: lenstronomy / ours {t_lenstronomy / total:.1f}x end to end, "
        f"{t_contours / stage[2]:.1f}x from a given Hessian ({stage[2]:.2f} s)",
    )

    ours = np.sort(lines["theta_e"][lines["closed"]].to_value(u.arcsec))
    theirs = closed_theta(result[0], result[1])
    matched = [np.min(np.abs(theirs - t)) / t for t in ours] if len(theirs) else []
    print(
        f"closed lines: ours {len(ours)}, lenstronomy {len(theirs)}; "
        f"median |d theta_E| / theta_E to the nearest of theirs: "
        f"{np.median(matched):.2e}"
    )


def _lenstronomy_centre(x, y):
    """Centre of our grid in the model frame, so that both grids coincide."""
    return float(x.mean()), float(y.mean())


if __name__ == "__main__":
    main()
