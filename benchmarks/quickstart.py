"""How long a newcomer waits for a first served answer: `make quickstart` in a fresh clone of HEAD, after setup.

    python -m benchmarks.quickstart       # writes metrics/bench_quickstart.json

The clone has no DVC cache, so every stage up to the bundle runs (the `small` profile, the pretrained encoder
with its adapter, on the shared sample); the clock stops when the server has answered one `/search`. Every stage
on the bundle's path in dvc.yaml must log its time: a stage that joins the path untimed stops the benchmark, so
the README's figure cannot leave a stage out.
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
from tools.pipeline_graph import stages, upstream
from tools.processes import free_port
from tools.quickstart import answer_in
from tools.sample import sample_path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parents[1]
STAGES_READ = ("subsample", "evaluate")  # whose metrics the report quotes
GOAL_SECONDS = 180  # from `make quickstart` to the first answer, on two cores


def bundle_path(target: str = "bundle") -> list[str]:
    """Every stage `make quickstart` runs for the bundle, in dvc.yaml's order; a `foreach` stage runs only for
    harvested shards, which a fresh clone has none of."""
    found, todo = set(), [target]
    while todo:
        name = todo.pop()
        if name not in found and not stages()[name]["foreach"]:
            found.add(name)
            todo.extend(upstream(name))
    return [name for name in stages() if name in found]


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
    untimed = [name for name in bundle_path() if name not in stage_seconds]
    if untimed:
        raise SystemExit(f"error: stages on the quickstart's path logged no time: {', '.join(untimed)}")
    report(
        "quickstart",
        {
            "benchmark": "make quickstart in a fresh clone, after setup, until one /search is answered",
            "command": "make quickstart SAMPLE=../shared/data/arxiv-papers.jsonl.gz",
            "seconds_to_answer": round(seconds, 1),
            "goal_seconds": GOAL_SECONDS,
            "goal_met": seconds <= GOAL_SECONDS,
            "stage_seconds": stage_seconds,
            "corpus_papers": metrics["subsample"]["corpus_papers"],
            "p@10": metrics["evaluate"]["p@10"],
            "question": "Quantum error correction with surface codes under biased noise",
            "answer": [{k: hit[k] for k in ("id", "title", "category")} for hit in answer["results"]],
        },
    )


if __name__ == "__main__":
    main()
