"""Which stage feeds which, read from dvc.yaml: the docs' stage table comes from here, so it follows the
pipeline instead of going stale."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _paths(entries: list | None) -> list[str]:
    """Paths of a deps/outs/metrics/plots list, whose entries are strings or one-key mappings."""
    return [e if isinstance(e, str) else next(iter(e)) for e in entries or []]


@cache
def stages(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, dict[str, list[str]]]:
    """Each stage's data deps and outs (metrics and plots included); a `foreach` stage by its plain name."""
    found = {}
    for name, entry in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
        body = entry.get("do", entry)
        outs = [*_paths(body.get("outs")), *_paths(body.get("metrics")), *_paths(body.get("plots"))]
        found[name] = {"deps": _paths(body.get("deps")), "outs": outs, "foreach": "foreach" in entry}
    return found


def _feeds(out: str, dep: str) -> bool:
    out, dep = out.split("${")[0].rstrip("/"), dep.split("${")[0].rstrip("/")
    return dep == out or dep.startswith(out + "/") or out.startswith(dep + "/")


def upstream(name: str) -> list[str]:
    """The stages whose outs `name` reads, in dvc.yaml's order."""
    deps = stages()[name]["deps"]
    return [s for s, e in stages().items() if s != name and any(_feeds(o, d) for o in e["outs"] for d in deps)]


def rerun_by(name: str) -> list[str]:
    """`name` and every stage downstream of it, in dvc.yaml's order: what `dvc repro` reruns at most when `name`'s
    params change."""
    reads = {stage: set(upstream(stage)) for stage in stages()}  # dvc.yaml read once a stage, not once a pass
    found, grown = {name}, True
    while grown:
        reached = {stage for stage, read in reads.items() if read & found}
        grown = not reached <= found
        found |= reached
    return [stage for stage in reads if stage in found]
