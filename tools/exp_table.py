"""Print a Markdown table of DVC experiments' headline metrics, from `dvc exp show --json`.

    dvc exp show --json | python -m tools.exp_table              # every experiment of HEAD
    dvc exp show -A --json | python -m tools.exp_table -n a b     # these, from any commit, in this order

The TF-IDF baseline is a row of its own (it is the same for experiments that share a data split).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

COLUMNS = {
    "P@1": ("metrics/eval.json", "p@1"),
    "P@5": ("metrics/eval.json", "p@5"),
    "P@10": ("metrics/eval.json", "p@10"),
    "MRR@10": ("metrics/eval.json", "mrr@10"),
    "accuracy": ("metrics/eval.json", "accuracy"),
    "macro-F1": ("metrics/eval.json", "macro_f1"),
}
BASELINE = "metrics/baseline.json"
PARAMS = {"loss": ("train", "loss"), "epochs": ("train", "epochs"), "lr": ("train", "learning_rate")}


def experiments(show: list[dict]) -> Iterator[tuple[str, dict]]:
    """(name, data) for each baseline commit and experiment in `dvc exp show --json` output."""
    for rev in show:
        if rev.get("data"):
            yield _label(rev), rev["data"]
        for exp in rev.get("experiments") or []:
            for run in exp.get("revs", []):
                if run.get("data"):
                    yield _label(run), run["data"]


def _label(rev: dict) -> str:
    """An experiment's name, a branch name or "workspace", else the short commit."""
    name = rev.get("name") or rev["rev"]
    return name[:7] if len(name) == 40 and all(c in "0123456789abcdef" for c in name) else name


def value(data: dict, file: str, key: str):
    return ((data.get("metrics") or {}).get(file) or {}).get("data", {}).get(key)


def param(data: dict, section: str, key: str):
    return ((data.get("params") or {}).get("params.yaml") or {}).get("data", {}).get(section, {}).get(key)


def table(show: list[dict], names: list[str] | None = None) -> str:
    rows = dict(experiments(show))
    chosen = names or [n for n in rows if value(rows[n], *COLUMNS["P@10"]) is not None]
    unknown = [n for n in chosen if n not in rows]
    if unknown:
        raise SystemExit(
            f"error: no experiment named {', '.join(unknown)} (experiments of older commits: dvc exp show -A)"
        )
    head = ["model", *PARAMS, *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    baseline = next((rows[n] for n in chosen if n in rows and value(rows[n], BASELINE, "p@10") is not None), None)
    if baseline:
        cells = ["TF-IDF + logistic regression", "", "", ""]
        cells += [_fmt(value(baseline, BASELINE, key)) for _, key in COLUMNS.values()]
        lines.append("| " + " | ".join(cells) + " |")
    for name in chosen:
        data = rows[name]
        cells = [name, *(_fmt(param(data, *p)) for p in PARAMS.values())]
        cells += [_fmt(value(data, *c)) for c in COLUMNS.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) and v < 1 else str(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--names", nargs="*", help="experiment names, in table order")
    opts = parser.parse_args()
    print(table(json.load(sys.stdin), opts.names))


if __name__ == "__main__":
    main()
