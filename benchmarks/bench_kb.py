"""Building a knowledge base: throughput, the share of I/O, and memory beyond the inputs.

A mock cluster field (three bands) is written once; knowledge bases of about N
cutouts of 128x128x3 pixels are then built from it, serially, for two values of
N. For each build the script prints the time of the whole build and of the
cluster's plan (member checks, critical lines), then, over the rest of the
build, the cutouts per second and the shares of the time spent simulating
lenses (the injector's ``lensed_stamp``) and writing the file
(`~ggsltools.kb.KBWriter`), and the peak of memory allocated during the
build beyond the input images and models, which were loaded beforehand: the
peak resident memory of the process (``ru_maxrss``) minus its resident memory
once the inputs were loaded, an upper bound as it also counts the imports and
caches made during the builds. The figures to read: the I/O share should stay small next to the
injection's, and the peak should not grow with N (cutouts are streamed to disk
batch by batch).

Usage: ``python benchmarks/bench_kb.py [N1 N2 ...]`` (default 200 800).
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

import astropy.units as u
from _summary import summary

from ggsltools.config import load_config
from ggsltools.kb import build as kb_build
from ggsltools.kb.store import KBWriter
from ggsltools.mock.field import write_mock_field
from ggsltools.plugins.injector import CausticInjector

__all__ = []

BANDS = ("F435W", "F606W", "F814W")


def _config(folder, *, n_cutouts, n_negatives):
    images = ", ".join(f'{b} = "mock_{b}.fits"' for b in BANDS)
    psfs = ", ".join(f'{b} = "mock_{b}_psf.fits"' for b in BANDS)
    ratio = max(n_cutouts / max(n_negatives, 1) - 1, 0.0)
    path = folder / f"bench_{n_cutouts}.toml"
    path.write_text(
        f"""
[[clusters]]
name = "BENCH"
z = 0.4
images = {{ {images} }}
psfs = {{ {psfs} }}
lens_model = {{ files = ["mock.par"] }}
negatives = "members"
members = {{ path = "mock_members.ecsv", columns = {{ id = "id", ra = "ra", dec = "dec" }} }}

[injection]
stamp_size = 128
window_size = 6.0
max_window_size = 12.0
line_pixel_scale = 0.06

[kb]
seed = 1
cutout_size = 128
ratio = {ratio}
n_folds = 5
batch_size = 32
edge_margin = 0
"""
    )
    return path


class _Timer:
    """Wrap a method and add up the time spent in it."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name
        self.original = getattr(owner, name)
        self.total = 0.0

    def __enter__(self):
        original = self.original

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc):
        setattr(self.owner, self.name, self.original)


def _rss_mib():
    """Resident memory of this process now (Linux), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(sizes=(200, 800)):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_mock_field(
            folder,
            seed=4,
            n_members=24,
            size=70 * u.arcsec,
            n_background=200,
            cluster_options=dict(
                field_size=56 * u.arcsec,
                group=None,
                halo={"v_disp": 500 * u.km / u.s},
                mag_faint=21.5,
            ),
        )
        probe = load_config(_config(folder, n_cutouts=10, n_negatives=1))
        data = probe.data
        # load the inputs (images, model, population, PSF plans) before measuring
        plan = kb_build._plan_cluster(
            data["clusters"][0], data["sources"], data["injection"], data["kb"]
        )
        images = kb_build._images(data["clusters"][0])
        input_mib = sum(im.data.nbytes for im in images.values()) / 2**20
        loaded = _rss_mib()
        n_neg = len(plan["negatives"])
        shape = next(iter(images.values())).data.shape
        print(
            f"mock field {shape[0]}x{shape[1]}x3 ({input_mib:.0f} MiB of images), "
            f"{n_neg} negatives, {len(plan['lines'])} secondary lines"
        )
        print(
            f"{'cutouts':>8} {'time':>8} {'plan':>7} {'cut/s':>7} {'inject':>7} {'write':>7} "
            f"{'peak MiB':>9}"
        )
        for n in sizes:
            config = _config(folder, n_cutouts=n, n_negatives=n_neg)
            out = folder / f"kb_{n}.h5"
            with (
                _Timer(CausticInjector, "lensed_stamp") as inject,
                _Timer(KBWriter, "append_batch") as append,
                _Timer(KBWriter, "finish") as finish,
                _Timer(KBWriter, "batch_metadata") as gather,
                _Timer(kb_build, "_plan_cluster") as planning,
            ):
                start = time.perf_counter()
                built = kb_build.build_kb(config, out)
                total = time.perf_counter() - start
            peak = _peak_rss_mib() - loaded
            io = append.total + finish.total + gather.total
            count = built["n_cutouts"]
            work = total - planning.total
            print(
                f"{count:8d} {total:7.1f}s {planning.total:6.1f}s {count / work:7.1f} "
                f"{inject.total / work:6.0%} {io / work:6.0%} {peak:9.1f}"
            )
            print(f"         file {out.stat().st_size / 2**20:.0f} MiB")
            summary(
                f"knowledge base {count}",
                f"{count / work:.0f} cutouts/s, injection {inject.total / work:.0%}, "
                f"I/O {io / work:.0%}, peak {peak:.0f} MiB beyond the images",
            )


if __name__ == "__main__":
    main(tuple(int(v) for v in sys.argv[1:]) or (200, 800))
