import json

import astropy.units as u
import h5py
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.kb import KBWriter, KnowledgeBase
from ggsltools.kb.augment import dihedral
from ggsltools.kb.folds import assign_folds
from ggsltools.kb.store import partial_path

BANDS = ["F435W", "F606W", "F814W"]


def _writer(path, **kw):
    options = dict(
        bands=BANDS,
        cutout_size=8,
        pixel_scale=0.03 * u.arcsec,
        n_folds=5,
        seed=7,
        kb_id="abc",
        provenance={"config": {"kb": {"seed": 7}}},
    )
    options.update(kw)
    return KBWriter(path, **options)


def _batch(start, n, rng):
    x = rng.normal(size=(n, 8, 8, 3)).astype(np.float32)
    x[:, 0, 0, 0] = np.arange(start, start + n)  # row tag
    y = (np.arange(start, start + n) % 3 != 0).astype(np.int8)
    meta = QTable(
        {
            "cluster": np.array(["A"] * n),
            "member_id": np.array([str(i // 2) for i in range(start, start + n)]),
            "theta_e": np.where(y == 1, 0.5, np.nan) * u.arcsec,
        }
    )
    return x, y, meta


def _write_kb(path, n_batches=4, size=10):
    rng = np.random.default_rng(0)
    with _writer(path) as w:
        for b in range(n_batches):
            w.append_batch(*_batch(b * size, size, rng), info={"excluded": {"edge": b}})
        meta = w.batch_metadata()
        labels = np.asarray(meta["theta_e"].value > 0, dtype=int)
        meta["index"] = np.arange(len(meta))
        meta["fold"] = assign_folds(labels, n_folds=5, seed=1)
        meta["validation"] = np.arange(len(meta)) % 10 == 0
        w.finish(meta, attrs={"exclusions": {"edge": 6}})


def test_write_and_read(tmp_path):
    path = tmp_path / "kb.h5"
    _write_kb(path)
    assert not partial_path(path).exists()
    with h5py.File(path) as f:
        assert f.attrs["format"] == "ggsltools-kb" and f.attrs["format_version"] == 1
        assert bool(f.attrs["complete"]) and "_build" not in f
        assert f["cutouts"].dtype == np.float32 and f["cutouts"].chunks == (1, 8, 8, 3)
        assert f["labels"].dtype == np.int8
    with KnowledgeBase(path) as kb:
        assert len(kb) == 40 and kb.bands == BANDS and kb.cutout_size == 8
        assert kb.pixel_scale == 0.03 * u.arcsec and kb.n_folds == 5 and kb.kb_id == "abc"
        assert kb.exclusions == {"edge": 6}
        assert kb.provenance["config"]["kb"]["seed"] == 7
        assert kb.metadata["theta_e"].unit == u.arcsec
        np.testing.assert_array_equal(kb.metadata["index"], np.arange(40))
        x = kb.read([5, 3, 3, 39])
        assert x.dtype == np.float32 and x.shape == (4, 8, 8, 3)
        np.testing.assert_array_equal(x[:, 0, 0, 0], [5, 3, 3, 39])
        np.testing.assert_array_equal(kb.read(np.arange(10, 20))[:, 0, 0, 0], np.arange(10, 20))
        with pytest.raises(InputError, match=r"0\.\.39"):
            kb.read([40])


def test_splits_and_streaming(tmp_path):
    path = tmp_path / "kb.h5"
    _write_kb(path)
    with KnowledgeBase(path) as kb:
        split = kb.split(1, validation_fraction=0.2, seed=0)
        assert np.all(kb.metadata["fold"][split["test"]] == 1)
        assert not set(split["train"]) & set(split["test"])
        assert not set(split["validation"]) & set(split["test"])
        run = kb.run_split()
        assert run["validation"].tolist() == [0, 10, 20, 30]
        # test batches: exactly the stored cutouts, in order, never transformed
        test = split["test"]
        got = np.concatenate([x for x, _ in kb.batches(test, batch_size=3)])
        np.testing.assert_array_equal(got, kb.read(test))
        # balanced augmented training epoch: equal counts, every cutout a transform
        # of a training cutout
        train = split["train"]
        xs, ys = zip(
            *kb.batches(train, batch_size=4, augment=True, balance=True, shuffle=True, rng=3)
        )
        x, y = np.concatenate(xs), np.concatenate(ys)
        n_major = max(np.bincount(kb.labels[train], minlength=2))
        assert np.count_nonzero(y == 1) == np.count_nonzero(y == 0) == n_major
        originals = kb.read(train)
        tags = originals[:, 0, 0, 0]
        for xi in x:
            matches = [
                k
                for k in range(8)
                for o in originals[np.isin(tags, xi.ravel())]
                if np.array_equal(dihedral(o, k), xi)
            ]
            assert matches
        # batches bounded by batch_size
        assert max(len(b) for b in xs) == 4


def test_incomplete_refused_and_resumed(tmp_path):
    path = tmp_path / "kb.h5"
    rng = np.random.default_rng(0)
    w = _writer(path)
    w.append_batch(*_batch(0, 10, rng))
    w.append_batch(*_batch(10, 10, rng))
    # a third batch whose rows landed but whose count was never recorded
    x, _, _ = _batch(20, 10, rng)
    w._file["cutouts"].resize(30, axis=0)
    w._file["cutouts"][20:] = x
    w.close()
    part = partial_path(path)
    with pytest.raises(InputError, match="incomplete"):
        KnowledgeBase(part)
    with KnowledgeBase(part, allow_incomplete=True) as kb:
        assert not kb.complete and len(kb) == 20 and len(kb.metadata) == 20
        with pytest.raises(InputError, match="no folds"):
            kb.split(0)
    with pytest.raises(InputError, match="another configuration"):
        _writer(path, kb_id="other")
    w = _writer(path)
    assert w.n_batches == 2 and w.n_rows == 20
    assert w._file["cutouts"].shape[0] == 20
    w.close()
    # overwrite starts another build afresh
    w = _writer(path, kb_id="other", overwrite=True)
    assert w.n_batches == 0 and w.n_rows == 0
    w.close()
    part.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="cannot open the partial"):
        _writer(path)
    w = _writer(path, overwrite=True)
    assert w.n_batches == 0
    w.close()


def test_writer_refusals(tmp_path):
    _write_kb(tmp_path / "kb.h5")
    with pytest.raises(InputError, match="exists"):
        _writer(tmp_path / "kb.h5")
    with pytest.raises(InputError, match="does not exist"):
        _writer(tmp_path / "missing" / "kb.h5")
    with pytest.raises(InputError, match="does not exist"):
        KnowledgeBase(tmp_path / "nope.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "something"
    with pytest.raises(InputError, match="not a ggsltools knowledge base"):
        KnowledgeBase(other)
    with h5py.File(tmp_path / "kb.h5", "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(InputError, match="format version 2"):
        KnowledgeBase(tmp_path / "kb.h5")


def test_provenance_is_json(tmp_path):
    _write_kb(tmp_path / "kb.h5")
    with h5py.File(tmp_path / "kb.h5") as f:
        assert json.loads(f.attrs["bands"]) == BANDS
        assert json.loads(f.attrs["provenance"])["config"]["kb"]["seed"] == 7


def test_streamed_metadata_reads_as_the_whole_table(tmp_path):
    """finish_batches writes, batch by batch, the table finish writes at once."""
    rng = np.random.default_rng(3)
    batches = [_batch(0, 6, rng), _batch(6, 5, rng), _batch(11, 7, rng)]
    # batches differ: a column only in some, strings of other widths and scripts
    batches[1][2]["source"] = np.array(["a-very-long-source-name"] * 5)
    batches[1][2]["r_e"] = np.linspace(0.1, 0.5, 5) * u.arcsec
    batches[2][2]["member_id"] = np.array(["Ω-7"] * 7)
    tables = {}
    for mode in ("whole", "streamed"):
        path = tmp_path / f"{mode}.h5"
        with _writer(path) as w:
            for x, y, meta in batches:
                w.append_batch(x, y, meta)
            n = w.n_rows
            index, fold = np.arange(n), np.arange(n) % 5
            validation = np.arange(n) % 4 == 0
            if mode == "whole":
                meta = w.batch_metadata()
                meta.add_column(index, name="index", index=0)
                meta["fold"], meta["validation"] = fold, validation
                w.finish(meta)
            else:
                assert list(w.batch_column("member_id")[-2:]) == ["Ω-7", "Ω-7"]
                w.finish_batches(
                    first={"index": index}, last={"fold": fold, "validation": validation}
                )
        with KnowledgeBase(path) as kb:
            tables[mode] = kb.metadata
    whole, streamed = tables["whole"], tables["streamed"]
    assert streamed.colnames == whole.colnames
    for name in whole.colnames:
        a, b = whole[name], streamed[name]
        assert getattr(a, "unit", None) == getattr(b, "unit", None), name
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a), err_msg=name)
    assert streamed["source"][0] == "" and streamed["source"][6] == "a-very-long-source-name"
    assert np.isnan(streamed["r_e"][0]) and streamed["r_e"].unit == u.arcsec


def test_streamed_metadata_errors(tmp_path):
    with _writer(tmp_path / "kb.h5") as w:
        with pytest.raises(InputError, match="no metadata was written"):
            w.finish_batches()
        w.append_batch(*_batch(0, 3, np.random.default_rng(0)))
        with pytest.raises(InputError, match="'fold' has 2 values for 3 rows"):
            w.finish_batches(last={"fold": [0, 1]})
