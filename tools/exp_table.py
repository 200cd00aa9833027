"""Print a Markdown table of DVC experiments' headline metrics, from `dvc exp show --json`.

    dvc exp show --json | python -m tools.exp_table              # every experiment of HEAD
    dvc exp show -A --json | python -m tools.exp_table -n a b     # these, from any commit, in this order
    dvc exp show -A --json | python -m tools.exp_table -n a b --save metrics/experiments.json
    dvc exp show --json | python -m tools.exp_table -n c --add metrics/experiments.json   # c beside those kept

`--save` keeps the named experiments' params and headline metrics, in `dvc exp show --json`'s own shape, in a
file that git commits (experiment refs stay local to the machine that ran them); the docs' tables read it.
`--add` puts the named experiments into such a file beside the ones it holds (replacing any of the same name),
for an experiment run in another clone or on another machine.

The TF-IDF baseline is a row of its own (it is the same for experiments that share a data split). P@10 and the
accuracies carry their 95% bootstrap intervals over the test queries; "dense" is the vector index alone, "hybrid"
its fusion with lexical search; "accuracy (LR)" is logistic regression on the embeddings alone (TF-IDF for the
baseline row), "accuracy (served)" the calibrated blend of the embedding and TF-IDF models.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from arxiv_embed.atomic import write_json
from arxiv_embed.layout import LAYOUT

EVAL, BASELINE = LAYOUT.stage_metrics("evaluate").as_posix(), LAYOUT.stage_metrics("baseline").as_posix()
# quality, and what it cost and learned from
KEPT = (EVAL, BASELINE, *(LAYOUT.stage_metrics(s).as_posix() for s in ("finetune", "embed", "fit_classifier")))
# column: (key in evaluate.json, key in baseline.json or None, shown with its interval); "/" reads nested keys
COLUMNS = {
    "P@1 dense": ("modes/dense/p@1", "p@1", False),
    "P@10 dense [95% CI]": ("modes/dense/p@10", "p@10", True),
    "P@10 hybrid [95% CI]": ("modes/hybrid/p@10", None, True),
    "MRR@10 dense": ("modes/dense/mrr@10", "mrr@10", False),
    "accuracy (LR) [95% CI]": ("embedding_accuracy", "accuracy", True),
    "accuracy (served) [95% CI]": ("accuracy", None, True),
    "macro-F1": ("macro_f1", "macro_f1", False),
}
PARAMS = {
    "loss": ("train", "loss"),
    "batch": ("train", "batch_size"),
    "epochs": ("train", "epochs"),
    "lr": ("train", "learning_rate"),
    "adapter epochs": ("adapter", "epochs"),
}


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
    """A metric of one experiment; `a/b/c` reads nested keys. None when the run did not write it."""
    found = ((data.get("metrics") or {}).get(file) or {}).get("data", {})
    for part in key.split("/"):
        found = found.get(part) if isinstance(found, dict) else None
    return found


def param(data: dict, section: str, key: str):
    return ((data.get("params") or {}).get("params.yaml") or {}).get("data", {}).get(section, {}).get(key)


def table(show: list[dict], names: list[str] | None = None) -> str:
    rows = dict(experiments(show))
    chosen = names or [n for n in rows if value(rows[n], EVAL, "p@10") is not None]
    unknown = [n for n in chosen if n not in rows]
    if unknown:
        raise SystemExit(
            f"error: no experiment named {', '.join(unknown)} (experiments of older commits: dvc exp show -A)"
        )
    head = ["model", *PARAMS, *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    baseline = next((rows[n] for n in chosen if value(rows[n], BASELINE, "p@10") is not None), None)
    if baseline:
        cells = ["TF-IDF + linear model (baseline stage)", *([""] * len(PARAMS))]
        cells += [_cell(baseline, BASELINE, key, ci) for _, key, ci in COLUMNS.values()]
        lines.append("| " + " | ".join(cells) + " |")
    for name in chosen:
        data = rows[name]
        cells = [name, *(_fmt(param(data, *p)) for p in PARAMS.values())]
        cells += [_cell(data, EVAL, key, ci) for key, _, ci in COLUMNS.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(data: dict, file: str, key: str | None, interval: bool) -> str:
    if key is None:
        return "-"
    cell = _fmt(value(data, file, key))
    low, high = value(data, file, f"{key}_lo"), value(data, file, f"{key}_hi")
    return f"{cell} [{low:.3f}, {high:.3f}]" if interval and low is not None and high is not None else cell


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if isinstance(v, float) and v < 1 else str(v)


def origins(show: list[dict]) -> dict[str, dict[str, str]]:
    """Each experiment's baseline commit (short) and the day it ran, so a saved table can name its run."""
    found = {}
    for rev in show:
        for exp in rev.get("experiments") or []:
            for run in exp.get("revs", []):
                timestamp = (run.get("data") or {}).get("timestamp") or ""
                found[_label(run)] = {"commit": rev["rev"][:7], "date": timestamp[:10]}
    return found


def kept(show: list[dict], names: list[str]) -> list[dict]:
    """The named experiments' params and the metrics files the table reads, as `dvc exp show --json` rows, with
    the commit each ran on and its day."""
    rows, runs = dict(experiments(show)), origins(show)
    missing = [n for n in names if n not in rows]
    if missing:
        raise SystemExit(f"error: no experiment named {', '.join(missing)} (experiments of older commits: -A)")
    return [
        {
            "rev": name,
            "name": name,
            **runs.get(name, {}),
            "data": {
                "params": {"params.yaml": rows[name]["params"]["params.yaml"]},
                "metrics": {f: rows[name]["metrics"][f] for f in KEPT if f in rows[name]["metrics"]},
            },
        }
        for name in names
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--names", nargs="*", help="experiment names, in table order")
    parser.add_argument("--save", type=Path, help="write the named experiments to this JSON file instead")
    parser.add_argument("--add", type=Path, help="put the named experiments into this JSON file beside its others")
    opts = parser.parse_args()
    show = json.load(sys.stdin)
    if opts.save:
        write_json(opts.save, kept(show, opts.names or []))
        return
    if opts.add:
        added = kept(show, opts.names or [])
        others = [e for e in json.loads(opts.add.read_text()) if e["name"] not in {a["name"] for a in added}]
        write_json(opts.add, others + added)
        return
    print(table(show, opts.names))


if __name__ == "__main__":
    main()
