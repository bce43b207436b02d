import textwrap
from pathlib import Path

import pytest

from ggsltools.config import config_id, load_config
from ggsltools.exceptions import InputError


def test_documented_configuration_is_valid(mock_clusters):
    text = (Path(__file__).parents[2] / "docs" / "kb.rst").read_text()
    block = text.split(".. code-block:: toml\n")[1].split("\nand build the KB")[0]
    path = mock_clusters / "A" / "doc.toml"
    path.write_text(textwrap.dedent(block))
    config = load_config(path)
    assert config["kb"]["n_folds"] == 10 and config["clusters"][0]["name"] == "MOCK1"
    assert config_id(config, 1) == config_id(load_config(path), 1)
    assert config_id(config, 1) != config_id(config, 2)


def test_clusters_need_the_same_bands(mock_clusters):
    text = (Path(__file__).parents[2] / "docs" / "kb.rst").read_text()
    block = textwrap.dedent(text.split(".. code-block:: toml\n")[1].split("\nand build the KB")[0])
    cluster = block.split("[sources]")[0]
    swapped = cluster.replace('name = "MOCK1"', 'name = "MOCK2"').replace(
        'F435W = "mock_F435W.fits", F606W = "mock_F606W.fits"',
        'F606W = "mock_F606W.fits", F435W = "mock_F435W.fits"',
    )
    path = mock_clusters / "A" / "two.toml"
    path.write_text(block + swapped)
    with pytest.raises(InputError, match=r"clusters\[1\].images: bands F606W, F435W, F814W"):
        load_config(path)
