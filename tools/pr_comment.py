"""Build the body of a pull-request comment: metrics, params and P@k curve of this run against a base revision.

    python -m tools.pr_comment --base origin/main > comment.md

Uses DVC's own diffs (`dvc metrics diff --md`, `dvc params diff --md`); the P@k curve, which a comment cannot draw,
becomes a table of both revisions side by side. `dvc plots diff` renders the full plots as HTML for the CI artifact.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
from pathlib import Path

CURVE = "metrics/precision_at_k.csv"


def dvc(*args: str, repo: Path) -> str:
    proc = subprocess.run(["dvc", *args], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: dvc {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout.strip()


def curve_at(rev: str | None, repo: Path) -> dict[str, str]:
    """k -> precision from the P@k plot file, at a git revision or in the workspace."""
    if rev is None:
        path = repo / CURVE
        text = path.read_text() if path.is_file() else ""
    else:
        proc = subprocess.run(["git", "show", f"{rev}:{CURVE}"], cwd=repo, capture_output=True, text=True)
        text = proc.stdout if proc.returncode == 0 else ""
    return {row["k"]: row["precision"] for row in csv.DictReader(io.StringIO(text))}


def curve_table(base: str, repo: Path) -> str:
    old, new = curve_at(base, repo), curve_at(None, repo)
    if not new:
        return "_no P@k curve in this run_"
    lines = [f"| k | {base} | this PR | change |", "|---|---|---|---|"]
    for k, precision in new.items():
        change = f"{float(precision) - float(old[k]):+.4f}" if k in old else "-"
        lines.append(f"| {k} | {old.get(k, '-')} | {precision} | {change} |")
    return "\n".join(lines)


def build(base: str, repo: Path) -> str:
    metrics = dvc("metrics", "diff", base, "--md", repo=repo) or "_no metric changed_"
    params = dvc("params", "diff", base, "--md", repo=repo) or "_no param changed_"
    return "\n\n".join(
        [
            f"## arxiv-embed: metrics against `{base}`",
            metrics,
            "### Params",
            params,
            "### P@k (test papers as queries)",
            curve_table(base, repo),
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
