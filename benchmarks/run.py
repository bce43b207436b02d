"""Run the benchmark scripts of this folder and print what each one measured."""

import subprocess
import sys
from pathlib import Path

__all__ = []


def main(words):
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if words:
        scripts = [s for s in scripts if any(w in s.stem for w in words)]
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
