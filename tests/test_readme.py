"""The README's example script runs as written, from the repository's root."""

import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        # the LensTool example file holds a keyword LensTool itself ignores
        warnings.filterwarnings("ignore", message=".*unknown keyword 'vdsplot'")
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
    assert "mag_F814W" in capsys.readouterr().out
