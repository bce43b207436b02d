"""Each tutorial page runs in an empty folder of its own, as a reader would."""

import pytest


@pytest.fixture(autouse=True)
def _tutorial_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
