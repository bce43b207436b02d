import h5py
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.imaging.io import read_images
from ggsltools.kb import KnowledgeBase
from ggsltools.kb.augment import dihedral
from ggsltools.kb.build import build_kb, member_velocity
from ggsltools.kb.store import KBWriter, partial_path

from .conftest import cluster_toml, write_config

BANDS = ("F435W", "F606W", "F814W")


@pytest.fixture(scope="module")
def inputs(mock_clusters):
    """Catalogues of the two clusters with the cases the builder must handle.

    Cluster A: every member a negative, plus one member off the images, one at
    a velocity of ~11 000 km/s (dropped by the selection) and a star masking
    member 3. Cluster B: per-inspector scores; members 2 and 5 are candidates,
    the others non-GGSL.
    """
    root = mock_clusters
    members = QTable.read(root / "A" / "mock_members.ecsv")
    extra = members[-2:].copy()
    extra["id"] = [900, 901]
    extra["ra"][0] = members["ra"][0] + 1 * members["ra"].unit  # a degree away
    extra["z"][1] = 0.45
    a_members = QTable.read(root / "A" / "mock_members.ecsv")
    from astropy.table import vstack

    vstack([a_members, extra]).write(root / "A_members.ecsv", overwrite=True)
    star = a_members[a_members["id"] == 3]
    QTable({"RA": star["ra"].value, "DEC": star["dec"].value, "R": [0.5]}).write(
        root / "stars.csv", format="ascii.csv", overwrite=True
    )
    # cluster B's F435W image has no coverage (zeros) around member 7
    import shutil

    from astropy.io import fits

    shutil.copytree(root / "B", root / "Bz", dirs_exist_ok=True)
    b_members = QTable.read(root / "B" / "mock_members.ecsv")
    with fits.open(root / "Bz" / "mock_F435W.fits", mode="update") as hdul:
        hdu = next(h for h in hdul if h.data is not None)
        row = b_members[b_members["id"] == 7][0]
        x, y = int(round(row["x_pix"])), int(round(row["y_pix"]))
        hdu.data[y - 15 : y + 15, x - 15 : x + 15] = 0
    ids = np.asarray(b_members["id"])
    scores = np.where(np.isin(ids, [2, 5]), 1.0, -1.0)
    QTable({"obj": ids.astype(str), "score_ann": scores, "score_bob": scores}).write(
        root / "B_inspection.ecsv", overwrite=True
    )
    a = cluster_toml(
        "A",
        "A",
        members="A_members.ecsv",
        extra='star_mask = { path = "stars.csv", columns = { ra = "RA", dec = "DEC", '
        'radius = "R" } }',
    )
    b = cluster_toml(
        "B",
        "Bz",
        extra='inspection = { path = "B_inspection.ecsv", id_column = "obj", '
        'score_columns = ["score_ann", "score_bob"] }',
    ).replace('negatives = "members"', 'negatives = "inspection"')
    return root, write_config(root, [a, b], name="two.toml")


@pytest.fixture(scope="module")
def built(inputs):
    root, config = inputs
    out = root / "kb.h5"
    summary = build_kb(config, out)
    return out, summary


def test_member_velocity():
    v = member_velocity([0.4, 0.41], 0.4)
    assert v[0].value == 0
    assert abs(v[1].value - 299792.458 * 0.01 / 1.4) < 1e-6


def test_build_counts_and_exclusions(built, inputs):
    path, summary = built
    with KnowledgeBase(path) as kb:
        meta = kb.metadata
        assert kb.bands == list(BANDS) and kb.cutout_size == 24 and kb.n_folds == 3
        labels = kb.labels
        n_neg = int(np.count_nonzero(labels == 0))
        assert np.count_nonzero(labels == 1) == 2 * n_neg
        assert summary["n_negatives"] == n_neg and summary["n_cutouts"] == len(kb)
        # A: members 1..11 minus the star-masked 3; B: the non-GGSL ones only
        neg = meta[labels == 0]
        a_ids = set(neg["member_id"][neg["cluster"] == "A"])
        b_ids = set(neg["member_id"][neg["cluster"] == "B"])
        assert "3" not in a_ids and "900" not in a_ids and "901" not in a_ids
        assert not {"2", "5"} & b_ids
        assert kb.exclusions["star"]["non-GGSL"] == 1
        assert kb.exclusions["outside_image"]["non-GGSL"] == 1
        assert kb.exclusions["incomplete"]["non-GGSL"] >= 1 and "7" not in b_ids
        assert summary["clusters"]["A"]["n_members_read"] == 13
        assert summary["clusters"]["A"]["n_members_selected"] == 12  # 901 too fast
        # contract columns
        for name in (
            "index", "cluster", "member_id", "ra", "dec", "label", "class", "fold",
            "validation", "group", "theta_e", "z_lens", "z_s", "mag_F814W", "r_e", "n",
            "q", "pa", "magnification", "n_images", "member_F814W", "member_F606W",
        ):  # fmt: skip
            assert name in meta.colnames, name
        assert set(meta["class"][labels == 1]) == {"GGSL"}
        assert np.all(np.isnan(meta["theta_e"][labels == 0]))
        theta = meta["theta_e"][labels == 1].to_value("arcsec")
        assert np.all((theta > 0.2) & (theta < 3.5))
        assert np.all(meta["z_s"][labels == 1] >= 0.8 - 1e-9)
        np.testing.assert_array_equal(meta["index"], np.arange(len(kb)))
        assert set(meta["group"]) == {
            f"{c}:{m}" for c, m in zip(meta["cluster"], meta["member_id"])
        }


def test_cutouts_are_image_pixels_plus_one_lens(built, inputs):
    path, _ = built
    root, _ = inputs
    images = read_images({b: root / "A" / f"mock_{b}.fits" for b in BANDS})
    with KnowledgeBase(path) as kb:
        meta = kb.metadata
        rows = np.flatnonzero(np.asarray(meta["cluster"]) == "A")
        x = kb.read(rows)
        lit = []
        for k, i in enumerate(rows):
            r0, c0 = int(meta["cutout_row0"][i]), int(meta["cutout_col0"][i])
            raw = np.stack([images[b].data[r0 : r0 + 24, c0 : c0 + 24] for b in BANDS], axis=-1)
            # centred on the member (Cutout2D's convention)
            assert abs(meta["center_x"][i] - (c0 + 11.5)) <= 0.5
            assert abs(meta["center_y"][i] - (r0 + 11.5)) <= 0.5
            if meta["label"][i] == 0:
                np.testing.assert_array_equal(x[k], raw)
            else:
                added = (x[k] - raw).sum(axis=(0, 1))
                # light added, no more than the whole lens stamp holds (float32
                # sums of faint sources on bright members may round to zero)
                counts = np.array([meta[f"counts_{b}"][i].value for b in BANDS])
                assert np.all(added >= -1e-4) and np.all(added <= counts * 1.01 + 1e-4)
                lit.append(added[-1] > 0)
        assert np.mean(lit) > 0.8
        wcs = kb.cutout_wcs(rows[0])
        ra, dec = wcs.pixel_to_world_values(
            meta["center_x"][rows[0]] - meta["cutout_col0"][rows[0]],
            meta["center_y"][rows[0]] - meta["cutout_row0"][rows[0]],
        )
        assert abs(ra - meta["ra"][rows[0]].value) < 1e-8
        assert abs(dec - meta["dec"][rows[0]].value) < 1e-8


def test_folds_stratified_and_test_never_augmented(built):
    path, _ = built
    with KnowledgeBase(path) as kb:
        folds = np.asarray(kb.metadata["fold"])
        for cls in (0, 1):
            sizes = np.bincount(folds[kb.labels == cls], minlength=3)
            assert sizes.max() - sizes.min() <= 1
        val = np.asarray(kb.metadata["validation"])
        assert 0 < val.sum() < len(kb)
        for fold in range(3):
            split = kb.split(fold, validation_fraction=0.2, seed=1)
            test = split["test"]
            assert not set(test) & (set(split["train"]) | set(split["validation"]))
            stream = np.concatenate([x for x, _ in kb.batches(test, batch_size=7)])
            np.testing.assert_array_equal(stream, kb.read(test))
            stream = [
                x
                for x, _ in kb.batches(
                    split["train"], batch_size=7, augment=True, balance=True, rng=0
                )
            ]
            train = np.concatenate(stream)
            # every streamed training cutout is a transform of a training cutout
            allowed = {dihedral(c, k).tobytes() for c in kb.read(split["train"]) for k in range(8)}
            assert all(t.tobytes() in allowed for t in train)
            originals = {c.tobytes() for c in kb.read(split["train"])}
            assert sum(t.tobytes() not in originals for t in train) > len(train) // 2


def test_member_grouping(inputs, tmp_path):
    root, config = inputs
    text = config.read_text().replace("edge_margin = 4", "edge_margin = 4\ngroup_members = true")
    grouped = root / "grouped.toml"
    grouped.write_text(text)
    out = tmp_path / "grouped.h5"
    build_kb(grouped, out)
    with KnowledgeBase(out) as kb:
        meta = kb.metadata
        for group in set(meta["group"]):
            assert len(set(meta["fold"][meta["group"] == group])) == 1
        # some member is both a negative and a lens
        both = [g for g in set(meta["group"]) if len(set(meta["label"][meta["group"] == g])) == 2]
        assert both


def test_interrupted_build_resumes_to_the_same_file(inputs, built, tmp_path, monkeypatch):
    _root, config = inputs
    reference, _ = built
    out = tmp_path / "kb.h5"
    calls = {"n": 0}
    original = KBWriter.append_batch

    def failing(self, *args, **kwargs):
        if calls["n"] == 3:
            raise RuntimeError("killed")
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KBWriter, "append_batch", failing)
    with pytest.raises(RuntimeError, match="killed"):
        build_kb(config, out)
    monkeypatch.undo()
    assert not out.exists()
    with pytest.raises(InputError, match="incomplete"):
        KnowledgeBase(partial_path(out))
    with KnowledgeBase(partial_path(out), allow_incomplete=True) as kb:
        assert len(kb) == 3 * 6
    # other inputs under the same configuration are not mixed with these batches
    members = (config.parent / "A_members.ecsv").read_text()
    (config.parent / "A_members.ecsv").write_text(
        (config.parent / "A" / "mock_members.ecsv").read_text()
    )
    try:
        with pytest.raises(InputError, match="other inputs"):
            build_kb(config, out)
    finally:
        (config.parent / "A_members.ecsv").write_text(members)
    summary = build_kb(config, out)
    assert summary["resumed_batches"] == 3
    _assert_same_kb(reference, out)


def _assert_same_kb(a, b):
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert fa.attrs["kb_id"] == fb.attrs["kb_id"]
        assert fa.attrs["exclusions"] == fb.attrs["exclusions"]
        for name in fa:
            assert name in fb
            assert fa[name][()].tobytes() == fb[name][()].tobytes(), name
        assert set(fa) == set(fb)


def test_distributed_workers_do_not_change_the_result(inputs, built, tmp_path):
    distributed = pytest.importorskip("distributed")
    _root, config = inputs
    reference, _ = built
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        # by address, as --scheduler gives it
        build_kb(config, tmp_path / "dist.h5", scheduler=cluster.scheduler_address)
    _assert_same_kb(reference, tmp_path / "dist.h5")


def test_local_threads_do_not_change_the_result(inputs, built, tmp_path):
    pytest.importorskip("dask")
    _root, config = inputs
    reference, _ = built
    build_kb(config, tmp_path / "threads.h5", workers=2)
    _assert_same_kb(reference, tmp_path / "threads.h5")


def test_another_process_builds_the_same_file(inputs, built, tmp_path):
    """No state of the process (FFT plans, caches) changes a single bit."""
    import subprocess
    import sys

    _root, config = inputs
    reference, _ = built
    out = tmp_path / "other.h5"
    code = "import sys; from ggsltools.kb.build import build_kb; build_kb(sys.argv[1], sys.argv[2])"
    subprocess.run([sys.executable, "-c", code, str(config), str(out)], check=True)
    _assert_same_kb(reference, out)


def test_negatives_are_the_merged_tables_non_ggsl_class(mock_clusters, tmp_path):
    """A table written by merge_inspections gives exactly its non-GGSL negatives."""
    from ggsltools.inspection.records import merge_inspections

    root = mock_clusters
    ids = np.asarray(QTable.read(root / "B" / "mock_members.ecsv")["id"]).astype(str)
    for inspector in ("ann", "bob"):
        # 2 and 5 are lenses for both; ann hesitates on 4, which makes it excluded
        scores = [
            1.0 if i in ("2", "5") else 0.5 if (i, inspector) == ("4", "ann") else -1.0 for i in ids
        ]
        QTable(
            {
                "inspector": [inspector] * len(ids),
                "time": ["2026-11-28T10:00:00Z"] * len(ids),
                "id": ids,
                "score": scores,
                "comment": [""] * len(ids),
            }
        ).write(tmp_path / f"{inspector}.ecsv")
    merged = merge_inspections([tmp_path / "ann.ecsv", tmp_path / "bob.ecsv"])
    merged.write(root / "B_merged.ecsv", overwrite=True)
    cluster = cluster_toml(
        "B",
        "B",
        extra='inspection = { path = "B_merged.ecsv", id_column = "id", class_column = "class" }',
    ).replace('negatives = "members"', 'negatives = "inspection"')
    summary = build_kb(write_config(root, [cluster], name="merged.toml"), tmp_path / "kb.h5")
    expected = set(merged["id"][merged["class"] == "non-GGSL"])
    assert not {"2", "4", "5"} & expected
    with KnowledgeBase(tmp_path / "kb.h5") as kb:
        negatives = set(kb.metadata["member_id"][kb.labels == 0])
        left_out = sum(by_class.get("non-GGSL", 0) for by_class in kb.exclusions.values())
    assert negatives <= expected
    assert len(expected) - len(negatives) == left_out
    assert summary["n_negatives"] == len(negatives)


def test_off_centre_psfs_need_psf_recentre(mock_clusters, tmp_path):
    import shutil

    from astropy.io import fits

    folder = tmp_path / "A"
    shutil.copytree(mock_clusters / "A", folder)
    for band in BANDS:
        with fits.open(folder / f"mock_{band}_psf.fits", mode="update") as hdul:
            hdul[0].data = np.roll(hdul[0].data, 2, axis=1)  # 2 px off centre
    cluster = cluster_toml("A", "A")
    config = write_config(tmp_path, [cluster])
    with pytest.raises(InputError, match=r"mock_F435W_psf\.fits.*psf_recentre"):
        build_kb(config, tmp_path / "kb.h5")
    assert not (tmp_path / "kb.h5").exists()
    fixed = write_config(
        tmp_path, [cluster_toml("A", "A", extra="psf_recentre = true")], name="fixed.toml"
    )
    summary = build_kb(fixed, tmp_path / "fixed.h5")
    with KnowledgeBase(tmp_path / "fixed.h5") as kb:
        assert len(kb) == summary["n_cutouts"] > 0
