import subprocess
import sys
from pathlib import Path

from ggsltools import __version__
from ggsltools.cli import main

BROKEN = "raise ImportError('libcudnn.so.9 not found')\n"


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"ggsltools {__version__}"


def test_installed_command_runs():
    script = Path(sys.executable).with_name("ggsltools")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "plugins" in out.stdout


def test_plugins_lists_broken_ones_with_their_error(fake_distribution, capsys):
    fake_distribution(
        "cliplug",
        "0.3",
        {"ggsltools.classifiers": {"cuda-only": "cli_broken:Net"}},
        {"cli_broken": BROKEN},
    )
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "cuda-only" in line)
    assert "classifiers" in line and "cliplug" in line and "0.3" in line
    assert "ImportError" in line and "libcudnn.so.9 not found" in line


def test_plugins_of_one_kind(fake_distribution, capsys):
    fake_distribution(
        "cliplug2",
        "0.3",
        {"ggsltools.classifiers": {"net": "cli_broken2:Net"}},
        {"cli_broken2": BROKEN},
    )
    assert main(["plugins", "--kind", "trainers"]) == 0
    assert "cliplug2" not in capsys.readouterr().out


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "ggsltools", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout
