"""Run the benchmark scripts of this folder, then print one line per benchmark.

Each script prints its measurements, and one ``SUMMARY`` line with its headline
ratio against the baseline it measured in the same run; the table at the end
gathers those lines.
"""

import subprocess
import sys
from pathlib import Path

from _summary import PREFIX

__all__ = []


def main(words):
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if words:
        scripts = [s for s in scripts if any(w in s.stem for w in words)]
    failed, lines = [], []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        process = subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=here
        )
        for line in process.stdout:
            if line.startswith(PREFIX):
                lines.append(line[len(PREFIX) :].rstrip())
            else:
                print(line, end="", flush=True)
        if process.wait() != 0:
            failed.append(script.stem)
    print("\n== summary: one line per benchmark, ratios measured in this run")
    for line in lines:
        print(f"  {line}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
