"""How long a newcomer waits for a first served answer: `make quickstart` in a fresh clone of HEAD, after setup.

    python -m benchmarks.quickstart       # writes metrics/bench_quickstart.json

The clone has no DVC cache, so every stage up to the bundle runs (the `small` profile, the pretrained encoder
with its adapter, on the shared sample); the clock stops when the server has answered one `/search`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import report
from tools.processes import free_port
from tools.quickstart import answer_in
from tools.sample import sample_path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parents[1]
STAGES_READ = ("subsample", "evaluate")  # whose metrics the report quotes


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "arxiv-embed"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        command = ["make", "quickstart", f"VENV={VENV}", f"SAMPLE={sample_path()}", f"PORT={free_port()}", "CHECK=1"]
        start = time.monotonic()
        proc = subprocess.run(command, cwd=clone, capture_output=True, text=True)
        seconds = time.monotonic() - start
        if proc.returncode:
            raise SystemExit(f"error: make quickstart failed:\n{proc.stderr[-3000:]}")
        answer = answer_in(proc.stdout)
        metrics = {name: json.loads((clone / "metrics" / f"{name}.json").read_text()) for name in STAGES_READ}
    # each stage that ran logs `<stage> INFO done in <seconds>s`
    stage_seconds = {name: float(s) for name, s in re.findall(r" (\w+) INFO done in ([\d.]+)s", proc.stderr)}
    report(
        "quickstart",
        {
            "benchmark": "make quickstart in a fresh clone, after setup, until one /search is answered",
            "command": "make quickstart SAMPLE=../shared/data/arxiv-papers.jsonl.gz",
            "seconds_to_answer": round(seconds, 1),
            "stage_seconds": stage_seconds,
            "corpus_papers": metrics["subsample"]["corpus_papers"],
            "p@10": metrics["evaluate"]["p@10"],
            "question": "Quantum error correction with surface codes under biased noise",
            "answer": [{k: hit[k] for k in ("id", "title", "category")} for hit in answer["results"]],
        },
    )


if __name__ == "__main__":
    main()
