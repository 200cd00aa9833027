"""Build the body of a pull-request comment: metrics, params and plots of this run against a base revision.

    python -m tools.pr_comment --base origin/main > comment.md

Uses DVC's own diffs (`dvc metrics diff --md`, `dvc params diff --md`). The plots a comment cannot draw, the
curves that DVCLive logs (the P@k curve of evaluate, the fine-tuning loss by step), become tables of both
revisions side by side. `dvc plots diff` renders every plot as HTML for the CI artifact.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
from pathlib import Path
from typing import NamedTuple

from arxiv_embed.layout import LAYOUT


class Curve(NamedTuple):
    title: str
    path: str  # a DVCLive plot: JSON points (log_plot) or a TSV of step and value (log_metric)
    x: str
    y: str
    rows: int  # at most this many rows in the table, evenly spaced


CURVES = [
    Curve(
        "P@k (test papers as queries)",
        (LAYOUT.stage_dvclive("evaluate") / "plots/custom/precision_at_k.json").as_posix(),
        "k",
        "precision",
        10,
    ),
    Curve(
        "Fine-tuning loss by step",
        (LAYOUT.stage_dvclive("finetune") / "plots/metrics/loss.tsv").as_posix(),
        "step",
        "loss",
        8,
    ),
]


def dvc(*args: str, repo: Path) -> str:
    proc = subprocess.run(["dvc", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: dvc {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout.strip()


def points_at(curve: Curve, rev: str | None, repo: Path) -> dict[str, float]:
    """x -> y of a plot file, at a git revision or in the workspace; empty where it does not exist."""
    if rev is None:
        path = repo / curve.path
        text = path.read_text() if path.is_file() else ""
    else:
        proc = subprocess.run(["git", "show", f"{rev}:{curve.path}"], cwd=repo, capture_output=True, text=True)
        text = proc.stdout if proc.returncode == 0 else ""
    if not text:
        return {}
    rows = json.loads(text) if curve.path.endswith(".json") else csv.DictReader(io.StringIO(text), delimiter="\t")
    return {str(row[curve.x]): float(row[curve.y]) for row in rows}


def curve_table(curve: Curve, base: str, repo: Path) -> str:
    old, new = points_at(curve, base, repo), points_at(curve, None, repo)
    if not new:
        return f"_no {curve.path} in this run_"
    xs = list(new)
    shown = sorted({xs[round(i * (len(xs) - 1) / max(curve.rows - 1, 1))] for i in range(curve.rows)}, key=xs.index)
    lines = [f"| {curve.x} | {base} | this PR | change |", "|---|---|---|---|"]
    for x in shown:
        change = f"{new[x] - old[x]:+.4f}" if x in old else "-"
        before = f"{old[x]:.4f}" if x in old else "-"
        lines.append(f"| {x} | {before} | {new[x]:.4f} | {change} |")
    return "\n".join(lines)


def build(base: str, repo: Path) -> str:
    metrics = dvc("metrics", "diff", base, "--md", repo=repo) or "_no metric changed_"
    params = dvc("params", "diff", base, "--md", repo=repo) or "_no param changed_"
    curves = [part for c in CURVES for part in (f"### {c.title}", curve_table(c, base, repo))]
    return "\n\n".join(
        [
            f"## arxiv-embed: metrics against `{base}`",
            metrics,
            "### Params",
            params,
            *curves,
            "_Full plots: the `plots` artifact of this workflow run (`dvc plots diff`)._",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="git revision to compare with, e.g. origin/main")
    parser.add_argument("--repo", type=Path, default=Path("."))
    opts = parser.parse_args()
    print(build(opts.base, opts.repo))


if __name__ == "__main__":
    main()
