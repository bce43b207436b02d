import numpy as np
import pytest
from astropy.table import QTable, Table

from ggsltools.cli import main
from ggsltools.exceptions import InputError
from ggsltools.inspection import (
    confirmed_lenses,
    fleiss_kappa,
    merge_inspections,
    pairwise_kappa,
    read_inspection,
    read_inspections,
    scored_ids,
)

HEADER = """# %ECSV 1.0
# ---
# datatype:
# - {name: inspector, datatype: string}
# - {name: time, datatype: string}
# - {name: id, datatype: string}
# - {name: score, datatype: float64}
# - {name: comment, datatype: string}
# schema: astropy-2.0
inspector time id score comment
"""


def export(path, rows):
    """Write an export; rows are (inspector, time, id, score, comment)."""
    lines = [f'"{n}" {t} "{i}" {s} "{c}"' for n, t, i, s, c in rows]
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def t(minute):
    return f"2026-11-28T10:{minute:02d}:00.000Z"


@pytest.fixture
def three(tmp_path):
    ada = export(
        tmp_path / "ada.ecsv",
        [
            ("Ada", t(1), "1", 1.0, "arc to the NE"),
            ("Ada", t(2), "2", -1.0, ""),
            ("Ada", t(3), "3", -1.0, ""),
            ("Ada", t(4), "4", 0.5, ""),
        ],
    )
    bob = export(
        tmp_path / "bob.ecsv",
        [
            ("Bob", t(1), "1", 1.0, ""),
            ("Bob", t(2), "2", -1.0, ""),
            ("Bob", t(3), "3", 0.5, "blue clump?"),
        ],
    )
    cy = export(
        tmp_path / "cy.ecsv",
        [
            ("Cy Young", t(1), "1", 0.5, ""),
            ("Cy Young", t(2), "2", -1.0, ""),
            ("Cy Young", t(3), "3", -1.0, ""),
            ("Cy Young", t(4), "10", -1.0, ""),
        ],
    )
    return [ada, bob, cy]


def test_fleiss_kappa_textbook_example():
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(counts) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_kappa_unequal_raters():
    # P_i = 1, 1, 0 (the single-vote object is left out); p = (3, 4, 0) / 7.
    counts = [[2, 0, 0], [0, 3, 0], [1, 1, 0], [1, 0, 0]]
    p_bar, p_e = 2 / 3, (9 + 16) / 49
    assert fleiss_kappa(counts) == pytest.approx((p_bar - p_e) / (1 - p_e))
    assert fleiss_kappa(counts) == pytest.approx(23 / 72)
    assert np.isnan(fleiss_kappa([[2, 0], [3, 0]]))  # one category only: undefined
    assert np.isnan(fleiss_kappa([[1, 0], [0, 1]]))  # nobody scored twice
    with pytest.raises(InputError, match="non-negative integers"):
        fleiss_kappa([[1.5, 0]])


def test_merge_means_classes_and_agreement(three):
    merged = merge_inspections(three)
    assert merged["id"].tolist() == ["1", "2", "3", "4", "10"]  # natural order
    assert merged["n_votes"].tolist() == [3, 3, 3, 1, 1]
    assert merged["mean_score"].tolist() == pytest.approx([2.5 / 3, -1, -1.5 / 3, 0.5, -1])
    assert merged["class"].tolist() == [
        "candidate",
        "non-GGSL",
        "excluded",
        "candidate",
        "non-GGSL",
    ]
    assert merged.meta["inspectors"] == ["Ada", "Bob", "Cy Young"]
    column = merged["score_Cy_Young"]
    assert column.mask.tolist() == [False, False, False, True, False]
    assert merged["score_Bob"][2] == 0.5
    assert merged["comments"][0] == "Ada: arc to the NE"
    assert merged["comments"][2] == "Bob: blue clump?"
    # Objects 1, 2, 3 have three votes: counts per category (1, 0.5, -1).
    expected = fleiss_kappa([[2, 1, 0], [0, 0, 3], [0, 1, 2]])
    assert merged.meta["fleiss_kappa"] == pytest.approx(expected)
    assert merged.meta["fleiss_n_objects"] == 3
    # Ada and Cy share objects 1, 2, 3: same score on 2 and 3 (-1), not on 1.
    pairs = pairwise_kappa(merged)
    ada_cy = pairs[(pairs["inspector_1"] == "Ada") & (pairs["inspector_2"] == "Cy Young")][0]
    assert ada_cy["n_common"] == 3
    assert ada_cy["agreement"] == pytest.approx(2 / 3)
    # p_o = 2/3; Ada (1, -1, -1), Cy (0.5, -1, -1): p_e = (2/3)(2/3) = 4/9.
    assert ada_cy["kappa"] == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))
    assert merged.meta["cohen_kappa"]["Ada / Cy Young"] == pytest.approx(0.4)


def test_merge_thresholds_and_positions(three):
    catalogue = QTable({"id": [1, 2, 3, 4], "ra": [10.0, 10.1, 10.2, 10.3], "dec": [-1.0] * 4})
    merged = merge_inspections(three, catalogue=catalogue, non_lens_max=-0.4, candidate_min=0.6)
    assert merged["class"].tolist() == [
        "candidate",
        "non-GGSL",
        "non-GGSL",
        "excluded",
        "non-GGSL",
    ]
    assert merged["ra"][:4].value.tolist() == [10.0, 10.1, 10.2, 10.3]
    assert merged["ra"].mask.tolist() == [False, False, False, False, True]
    with pytest.raises(InputError, match="no id column 'name'"):
        merge_inspections(three, catalogue=catalogue, id_column="name")


def test_latest_score_wins(tmp_path):
    first = export(
        tmp_path / "a1.ecsv",
        [("Ada", t(5), "7", -1.0, "late"), ("Ada", t(1), "7", 1.0, "early")],
    )
    second = export(tmp_path / "a2.ecsv", [("Ada", t(3), "7", 0.5, "middle")])
    for order in ([first, second], [second, first]):
        rows = read_inspections(order)
        assert len(rows) == 1
        assert rows["score"][0] == -1.0
        assert rows["comment"][0] == "late"
        assert rows["file"][0] == str(first)
        assert rows["line"][0] == 11
    assert scored_ids([first, second]) == {"7"}
    assert scored_ids([first], inspector="Bob") == set()


def test_csv_and_naive_times(tmp_path):
    path = tmp_path / "bob.csv"
    path.write_text(
        "inspector,time,id,score,comment\n"
        "Bob,2026-11-28T10:00:00,0042,1,\n"
        "Bob,2026-11-28T11:00:00+01:00,42,-1,not a lens\n"
    )
    table = read_inspection(path)
    assert table["id"].tolist() == ["0042", "42"]  # ids stay strings
    assert table["time"].tolist() == [
        "2026-11-28T10:00:00.000000+00:00",
        "2026-11-28T10:00:00.000000+00:00",
    ]
    assert table["comment"].tolist() == ["", "not a lens"]
    assert table["line"].tolist() == [2, 3]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('"Ada" 2026-11-28T10:00:00Z "1" 0.7 ""', r"line 12 \(row 2\): column 'score' is 0.7"),
        ('"Ada" yesterday "1" 1.0 ""', r"line 12 \(row 2\): time 'yesterday'"),
        ('"" 2026-11-28T10:00:00Z "1" 1.0 ""', r"line 12 \(row 2\): column 'inspector' is empty"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "bad.ecsv"
    path.write_text(HEADER + '"Ada" 2026-11-28T09:00:00Z "0" -1.0 ""\n' + row + "\n")
    with pytest.raises(InputError, match=str(path) + ".*" + message):
        read_inspection(path)


def test_malformed_files(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("inspector,id,score\nAda,1,1\n")
    with pytest.raises(InputError, match=f"{path}: missing column.*time"):
        read_inspection(path)
    garbage = tmp_path / "garbage.ecsv"
    garbage.write_text("# %ECSV 1.0\n# ---\n# datatype: [oops\nid score\n")
    with pytest.raises(InputError, match=f"cannot read inspection file {garbage}"):
        read_inspection(garbage)
    with pytest.raises(InputError, match="does not exist"):
        read_inspection(tmp_path / "missing.ecsv")
    with pytest.raises(InputError, match="no inspection files"):
        read_inspections([])


def test_confirmed_lenses(three):
    merged = merge_inspections(three)
    confirmed = confirmed_lenses(merged, min_score=0.8, min_votes=2)
    assert confirmed["id"].tolist() == ["1"]
    assert confirmed_lenses(merged, min_score=0.5, min_votes=1)["id"].tolist() == ["1", "4"]
    with pytest.raises(InputError, match="min_votes"):
        confirmed_lenses(merged, min_votes=0)


def test_merge_command(three, tmp_path, capsys):
    out = tmp_path / "merged.ecsv"
    confirmed = tmp_path / "confirmed.ecsv"
    args = ["merge-inspections", *map(str, three), "--out", str(out)]
    status = main(args + ["--confirmed", str(confirmed), "--confirmed-min", "0.8"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "5 objects, 3 inspectors: 2 candidate, 1 excluded, 2 non-GGSL" in printed
    assert "Cohen's kappa Ada / Cy Young: 0.400" in printed
    merged = Table.read(out, format="ascii.ecsv")
    assert merged["class"].tolist()[:3] == ["candidate", "non-GGSL", "excluded"]
    assert merged.meta["fleiss_n_objects"] == 3
    assert Table.read(confirmed)["id"].tolist() == ["1"]
    assert main(args) == 2  # exists, no --overwrite
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--non-lens-max", "-0.4"]) == 0
    assert Table.read(out)["class"].tolist()[2] == "non-GGSL"
