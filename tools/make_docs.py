"""Render README.md and the docs/ pages from docs/templates/, with every number read from committed JSON.

    python -m tools.make_docs            # write README.md and docs/*.md (make docs)
    python -m tools.make_docs --check    # exit 1 naming the pages that differ from what would be written

A template sees `m`, every metrics/*.json by file name (`m.evaluate["p@10"]`, `m.bench_scale.server`), `p`, the
committed params.yaml, `s`, the server's default settings, the experiments of metrics/experiments.json, and a
few formatting helpers. A key that is not in the JSON stops the render (StrictUndefined), so a page cannot quote
a number that no run wrote.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from arxiv_embed.metrics import BOOTSTRAP_SAMPLES
from serve.settings import Settings
from tools.exp_table import table
from tools.pipeline_graph import rerun_by, stages, upstream
from tools.quickstart import curl_lines
from tools.run_outputs import Files, Workspace

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "docs" / "templates"
EXPERIMENTS = "experiments"  # metrics/experiments.json: `tools.exp_table --save`, not a stage's metrics


def output_path(template: Path, root: Path = ROOT) -> Path:
    """README.md.j2 -> README.md at the root; any other NAME.md.j2 -> docs/NAME.md."""
    name = template.name.removesuffix(".j2")
    return root / name if name == "README.md" else root / "docs" / name


def ci(data: dict, key: str, digits: int = 4) -> str:
    """A metric with its 95% interval: `0.3819 [0.357, 0.405]`."""
    return f"{data[key]:.{digits}f} [{data[key + '_lo']:.3f}, {data[key + '_hi']:.3f}]"


def cpu_namer() -> Callable[[dict], str]:
    """`cpu(bench)` for one page: the CPU a benchmark ran on, with the vector extensions that move int8 speed,
    spelled out the first time the page names them."""
    said: set[str] = set()

    def name(short: str, words: str) -> str:
        first = short not in said
        said.add(short)
        return f"{short} ({words})" if first else short

    def cpu(bench: dict) -> str:
        info = bench.get("cpu")
        if not info:
            return "CPU not recorded in the JSON"
        if info.get("avx512_vnni"):
            isa = "AVX-512 " + name("VNNI", "Vector Neural Network Instructions: int8 dot products")
        else:
            isa = "AVX-512" if info.get("avx512f") else "AVX2 only"
        if info.get("avx512_bf16"):
            isa += ", " + name("BF16", "bfloat16 arithmetic")
        if info.get("amx_int8"):
            isa += ", " + name("AMX", "Advanced Matrix Extensions")
        return f"{info['model']}, {info['cores']} cores, {isa}"

    return cpu


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def make_targets(makefile: Path = ROOT / "Makefile") -> list[tuple[str, str]]:
    """(target, what it does) for every target with a `## ` comment above it, in the Makefile's order."""
    targets, said = [], []
    for line in makefile.read_text().splitlines():
        if line.startswith("## "):
            said.append(line[3:])
        elif said and (match := re.match(r"([a-z-]+):", line)):
            targets.append((match.group(1), " ".join(said)))
            said = []
        else:
            said = []
    return targets


def curl(example: dict) -> str:
    """The curl command of one recorded request (tools/api_examples.py), quoted for a POSIX shell."""
    command = f"curl -s {shlex.quote('localhost:8000' + example['path'])}"  # a query's `&` must not reach the shell
    if example["method"] not in ("GET", "POST"):
        command += f" -X {example['method']}"
    if example.get("secret"):  # a saved library's owner secret
        command += f" -H 'authorization: Bearer {example['secret']}'"
    if example["body"] is None:
        return command
    body = json.dumps(example["body"], ensure_ascii=False).replace("'", "'\\''")
    return f"{command} -H 'content-type: application/json' -d '{body}'"


def stage_seconds(metrics: dict[str, dict], names: list[str]) -> float:
    """The default run's wall time of some stages: each one's `seconds` in its metrics file."""
    return sum(metrics[name]["seconds"] for name in names if "seconds" in metrics.get(name, {}))


def context(files: Files) -> dict[str, Any]:
    metrics = {Path(name).stem: json.loads(files.text(name)) for name in files.names("metrics", ".json")}
    shown = metrics.pop(EXPERIMENTS, [])
    experiments = {rev["name"]: {**rev["data"], "commit": rev.get("commit"), "date": rev.get("date")} for rev in shown}
    return {
        "m": metrics,
        "p": yaml.safe_load(files.text("params.yaml")),
        "experiments": experiments,
        "experiment_table": lambda *names: table(shown, list(names)),
        "bootstrap_samples": BOOTSTRAP_SAMPLES,
        "make_targets": make_targets(),
        "pipeline": [(name, upstream(name), body["foreach"]) for name, body in stages().items()],
        "s": {name: field.default for name, field in Settings.model_fields.items()},  # the server's defaults
        "settings": [  # the server's environment variables: (name, default, what it sets or limits)
            (f"ARXIV_EMBED_{name.upper()}", field.default, field.description)
            for name, field in Settings.model_fields.items()
        ],
        "run_seconds": stage_seconds(metrics, list(stages())),  # the default run's wall time, as Results adds it
        "rerun_seconds": lambda name: stage_seconds(metrics, rerun_by(name)),  # a sweep over `name`'s params
        "quickstart_requests": list(curl_lines(8000).values()),  # as `make quickstart` prints them
    }


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(n=lambda v: f"{v:,}", f=lambda v, d=4: f"{v:.{d}f}", minutes=minutes, curl=curl)
    env.filters["json"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)
    env.globals.update(ci=ci)
    return env


def render_all(files: Files | None = None) -> dict[Path, str]:
    """Every page's text as the templates and the JSON make it; the JSON and params from `files` (default: the
    workspace)."""
    env, values = environment(), context(files or Workspace())
    header = "<!-- Generated by `make docs` from {} and metrics/*.json: edit the template, not this file. -->\n\n"
    pages = {}
    for template in sorted(TEMPLATES.glob("*.md.j2")):
        body = env.get_template(template.name).render(**values, cpu=cpu_namer())
        pages[output_path(template)] = header.format(template.relative_to(ROOT)) + body
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a page differs from what would be written")
    args = parser.parse_args()
    pages = render_all()
    stale = [p for p, text in pages.items() if not p.is_file() or p.read_text() != text]
    if args.check:
        if stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
            sys.exit(f"error: {names} out of date with the templates or metrics: run `make docs`")
        return
    for path in stale:
        path.write_text(pages[path])
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
