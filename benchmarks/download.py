"""Download benchmark: the stage's peak memory as the source grows, to show it streams (flat, not linear).

Builds sources of 1x, 2x and 4x the shared sample (copies get new ids), runs the real download stage on each in
a scratch directory, and reports papers, shards, seconds and peak RSS.

    python -m benchmarks.download           # 1x, 2x, 4x the sample (110k to 440k papers)
    python -m benchmarks.download --tiny    # 2,000 papers, 1x and 2x
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from arxiv_embed.layout import LAYOUT
from benchmarks.common import report
from tools.sample import sample_path

ROOT = Path(__file__).resolve().parents[1]


def write_source(path: Path, copies: int, limit: int | None) -> None:
    """`copies` passes over the sample (or its first `limit` lines); pass i > 0 suffixes ids and titles with i."""
    with gzip.open(path, "wt") as out:
        for copy in range(copies):
            with gzip.open(sample_path(), "rt") as fh:
                for n, line in enumerate(fh):
                    if limit and n == limit:
                        break
                    row = json.loads(line)
                    if copy:
                        row["id"], row["title"] = f"{row['id']}v{copy}", f"{row['title']} ({copy})"
                    out.write(json.dumps(row) + "\n")


def run_download(source: Path, work: Path, shard_rows: int) -> dict:
    (work / "params.yaml").write_text(
        yaml.safe_dump({"data": {"source": str(source), "max_papers": None, "shard_rows": shard_rows}})
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent)}
    subprocess.run([sys.executable, "-m", "stages.download"], cwd=work, env=env, check=True, capture_output=True)
    return json.loads((work / "metrics" / "download.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--shard-rows", type=int, default=100_000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    copies, limit = ([1, 2], 2000) if opts.tiny else (opts.copies, None)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="bench-download-") as scratch:
        for n in copies:
            work = Path(scratch) / f"x{n}"
            work.mkdir()
            source = work / "source.jsonl.gz"
            write_source(source, n, limit)
            got = run_download(source, work, 1000 if opts.tiny else opts.shard_rows)
            runs[f"x{n}"] = {k: got[k] for k in ("papers", "shards", "seconds", "peak_rss_mb")}
    first, last = runs[f"x{copies[0]}"], runs[f"x{copies[-1]}"]
    result = {
        "benchmark": "download",
        "runs": runs,
        "papers_ratio": round(last["papers"] / first["papers"], 2),
        "peak_rss_ratio": round(last["peak_rss_mb"] / first["peak_rss_mb"], 2),
        "goal": "peak RSS flat as the source grows (ratio near 1, not near papers_ratio)",
    }
    report("download", result, opts.out)


if __name__ == "__main__":
    main()
