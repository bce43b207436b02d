"""The built-in demonstration: mock HST clusters, a configuration, a whole run.

`write_demo` renders mock cluster fields (`ggsltools.mock.field`) and writes a
commented TOML configuration for them, the template of a real run; `run_demo`
then runs every stage on it (`~ggsltools.pipeline.stages.run_pipeline`) and
sums up the result. ``ggsltools demo`` does both.
"""

from pathlib import Path

from ..exceptions import OutputExistsError
from ..staging import check_outputs
from .stages import REPORT_FILE, run_pipeline

__all__ = ["DEMO_SETTINGS", "demo_summary", "run_demo", "write_demo"]

#: Sizes of the full and the quick demonstration.
DEMO_SETTINGS = {
    "full": {
        "clusters": 3,
        "n_members": 120,
        "cutout_size": 64,
        "n_folds": 3,
        "folds": 2,
        "ratio": 2.0,
        "theta_min": 0.5,
        "epochs": 12,
        "patience": 4,
        "batch_size": 32,
        "depth": 3,
        "width": 8,
        "architectures": ["vgg", "sc-vgg"],
    },
    "quick": {
        "clusters": 2,
        "n_members": 70,
        "cutout_size": 64,
        "n_folds": 3,
        "folds": 1,
        "ratio": 2.0,
        "theta_min": 0.5,
        "epochs": 15,
        "patience": 5,
        "batch_size": 32,
        "depth": 3,
        "width": 8,
        "architectures": ["vgg"],
    },
}

_CLUSTER = """
[[clusters]]
name = "{name}"
z = {z}
images = {{ F435W = "{stem}_F435W.fits", F606W = "{stem}_F606W.fits", F814W = "{stem}_F814W.fits" }}
psfs.F435W = "{stem}_F435W_psf.fits"
psfs.F606W = "{stem}_F606W_psf.fits"
psfs.F814W = "{stem}_F814W_psf.fits"
lens_model = {{ files = ["{stem}.par"] }}
# mock images hold no real lens: every selected member is a negative. With real
# data, use negatives = "inspection" and an [clusters.inspection] table (the
# file 'ggsltools merge-inspections' writes).
negatives = "members"

[clusters.members]
path = "{stem}_members.ecsv"
columns = {{ id = "id", ra = "ra", dec = "dec", z = "z" }}
photometry = {{ F435W = "mag_F435W", F606W = "mag_F606W", F814W = "mag_F814W" }}
max_velocity = 5000.0  # km/s from the cluster redshift
"""

_REST = """
[sources]
plugin = "sersic"
# Brighter sources than the paper's (F814W 22-26 instead of 22-29), so that the
# demonstration's small networks learn in minutes. Remove these options for the
# paper's population: its faint sources need the paper's networks and data.
options.mag_edges = [22.0, 24.0, 25.0, 26.0]
options.z0 = [0.2992, 0.0342, 0.0404]  # p(z) of each magnitude bin
options.z_forms = ["exp", "sqrt", "sqrt"]

[injection]
stamp_size = {stamp}
# Einstein radii from 0.5" (the paper: 0.2"): in this demonstration's small
# cutouts and networks, smaller lenses hide under their galaxy's light
theta_min = {theta_min}  # arcsec
theta_max = 3.5
dz_min = 0.4

[kb]
seed = {seed}
cutout_size = {cutout_size}  # pixels of 0.06": {fov:.2f} arcsec
ratio = {ratio}
n_folds = {n_folds}

[train]
architectures = {architectures}{folds}
epochs = {epochs}
patience = {patience}
batch_size = {batch_size}  # the paper's 16 for sc-vgg is slower on a CPU
depth = {depth}
width = {width}
seed = {seed}

[classify]
architecture = "{classify}"
models = "run"

[evaluate]
threshold = 0.5

[report]
min_probability = 0.2
max_candidates = 100
size = 96

[run]
workers = 1
"""


def write_demo(directory, *, quick=False, seed=1, overwrite=False, settings=None):
    """Render the demonstration's mock clusters and write its configuration.

    Parameters
    ----------
    directory : str or `os.PathLike`
        Output folder; the clusters go to ``data/``, the configuration to
        ``ggsltools.toml``.
    quick : bool, optional
        The small version (two smaller clusters; the VGG only, trained on one
        fold).
    seed : int, optional
        Seed of the clusters, the knowledge base and the training.
    overwrite : bool, optional
        Replace an existing demonstration.
    settings : dict, optional
        Values replacing those of `DEMO_SETTINGS` (``clusters``, ``n_members``,
        ``cutout_size``, ``epochs``...).

    Returns
    -------
    config : `pathlib.Path`
        The configuration file.

    Raises
    ------
    InputError
        If the folder holds a demonstration and ``overwrite`` is False, or
        ``directory`` is a file.
    """
    from ..mock.field import write_mock_field

    settings = {**DEMO_SETTINGS["quick" if quick else "full"], **(settings or {})}
    directory = Path(directory)
    check_outputs(directory, ())  # a file where the folder should be
    config = directory / "ggsltools.toml"
    if config.exists() and not overwrite:
        raise OutputExistsError(config)
    data = directory / "data"
    text = [
        "# ggsltools configuration written by 'ggsltools demo': mock HST clusters.",
        "# Copy it for your own clusters; 'ggsltools run ggsltools.toml' runs it.",
        "# Paths are relative to this file.",
    ]
    redshifts = (0.35, 0.42, 0.5)
    for k in range(settings["clusters"]):
        name = f"MOCK{k + 1}"
        stem = name.lower()
        write_mock_field(
            data,
            seed=seed + k,
            n_members=settings["n_members"],
            name=stem,
            overwrite=True,
            cluster_options={"z_lens": redshifts[k]},
        )
        text.append(_CLUSTER.format(name=name, z=redshifts[k], stem=f"data/{stem}"))
    cutout = settings["cutout_size"]
    text.append(
        _REST.format(
            seed=seed,
            stamp=cutout,
            cutout_size=cutout,
            theta_min=settings["theta_min"],
            fov=cutout * 0.06,
            ratio=settings["ratio"],
            n_folds=settings["n_folds"],
            architectures="[" + ", ".join(f'"{a}"' for a in settings["architectures"]) + "]",
            epochs=settings["epochs"],
            patience=settings["patience"],
            batch_size=settings["batch_size"],
            depth=settings["depth"],
            width=settings["width"],
            classify=settings["architectures"][-1],
            folds=(
                ""
                if settings["folds"] is None
                else f"\nfolds = {settings['folds']}  # train and test the first folds only"
            ),
        )
    )
    directory.mkdir(parents=True, exist_ok=True)
    config.write_text("\n".join(text))
    return config


def demo_summary(report):
    """Lines that sum up a run: per architecture AUC, purity and completeness.

    Parameters
    ----------
    report : list of dict
        What `~ggsltools.pipeline.stages.run_pipeline` returns.

    Returns
    -------
    lines : list of str
    """
    by_stage = {entry["stage"]: entry for entry in report}
    lines = []
    kb = by_stage.get("kb", {}).get("summary", {})
    if kb:
        lines.append(
            f"knowledge base: {kb['cutouts']} cutouts, {kb['ggsl']} simulated lenses, "
            f"{kb['cutouts'] - kb['ggsl']} non-lenses"
        )
    for name, m in by_stage.get("evaluate", {}).get("summary", {}).items():
        lines.append(
            f"{name}: test AUC {m['auc']:.3f}, GGSL purity {100 * m['purity']:.1f}%, "
            f"completeness {100 * m['completeness']:.1f}%, F1 {100 * m['f1']:.1f}%"
        )
    classify = by_stage.get("classify", {}).get("summary", {})
    if classify:
        lines.append(
            f"classified {classify['objects']} members ({classify['provider']}): "
            f"{classify['selected']} above the threshold"
        )
    if "report" in by_stage:
        lines.append(f"report: {by_stage['report']['folder'] / REPORT_FILE}")
    return lines


def run_demo(directory, *, quick=False, seed=1, overwrite=False):
    """Write the demonstration (`write_demo`) and run it.

    Parameters are those of `write_demo`; an existing demonstration is run
    again (its finished stages are kept) unless ``overwrite``.

    Returns
    -------
    config : `pathlib.Path`
        The configuration written.
    report : list of dict
        See `~ggsltools.pipeline.stages.run_pipeline`.
    """
    directory = Path(directory)
    check_outputs(directory, ())  # a file where the folder should be
    config = directory / "ggsltools.toml"
    if overwrite or not config.exists():
        config = write_demo(directory, quick=quick, seed=seed, overwrite=overwrite)
    return config, run_pipeline(config, out=directory / "run")
