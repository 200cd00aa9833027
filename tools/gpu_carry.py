"""Write the folder a lent GPU machine needs for `benchmarks.gpu`: what it lacks, within what travels (64 MiB).

    python -m tools.gpu_carry --out gpu-carry     # git-ignored; name it in the device run's `carry`

It holds the base model in fp16 (half the bytes; training casts back to fp32), a uniform slice of the real sample
as Parquet, and wheels of the locked versions of the packages the GPU image lacks (training needs `datasets`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.params import load_params
from arxiv_embed.train.models import load_sentence_model
from arxiv_embed.train.training import save_model
from tools.sample import real_papers

ROOT = Path(__file__).resolve().parents[1]
# The training stack beyond torch and transformers, which the GPU image has: `datasets` and its helpers for the
# trainer, pydantic for the params' types, and typing-extensions at the version pydantic needs.
WHEELS = (
    *("datasets", "accelerate", "dill", "multiprocess", "xxhash", "fsspec", "sentence-transformers"),
    *("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "typing-extensions"),
)
# pip matches a manylinux tag exactly: name the ones binary wheels are published under.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
MAX_BYTES = 64 * 2**20  # what the device tool carries, the checkout included
PAPERS_FILE, MODEL_DIR = "papers.parquet", "model"  # in the carry folder, where benchmarks.gpu reads them


def locked(names: tuple[str, ...]) -> list[str]:
    """`name==version` of each package as requirements/dev.txt pins it."""
    lock = (ROOT / "requirements" / "dev.txt").read_text()
    pins = []
    for name in names:
        found = re.search(rf"^({re.escape(name)}==\S+)", lock, re.MULTILINE)
        if not found:
            raise SystemExit(f"error: {name} is not in requirements/dev.txt")
        pins.append(found[1])
    return pins


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-carry"))
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    parser.add_argument("--no-wheels", action="store_true", help="skip the wheels (the machine has the packages)")
    opts = parser.parse_args()
    name = load_params(ROOT / "params.yaml")["model"]["name"]
    with atomic_path(opts.out, is_dir=True) as tmp:
        save_model(load_sentence_model(name, "cpu").half(), tmp / MODEL_DIR)
        rows = [
            {
                "id": p["id"],
                "title": p["title"],
                "abstract": p["abstract"],
                "primary_category": p["categories"].split()[0],
            }
            for p in real_papers(opts.papers, seed=2)
        ]
        pd.DataFrame(rows).to_parquet(tmp / PAPERS_FILE, compression="zstd", index=False)
        if not opts.no_wheels:
            platform = [*(f"--platform={p}" for p in PLATFORMS), "--python-version", opts.python_version]
            download = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *platform]
            subprocess.run([*download, "-q", "-d", str(tmp / "wheels"), *locked(WHEELS)], check=True)
        size = folder_bytes(tmp)
        if size > MAX_BYTES:
            raise SystemExit(f"error: {size / 2**20:.1f} MiB is over the {MAX_BYTES // 2**20} MiB a device run carries")
    parts = {
        p.name: round(folder_bytes(p) / 2**20, 1) if p.is_dir() else round(p.stat().st_size / 2**20, 1)
        for p in sorted(opts.out.iterdir())
    }
    print(json.dumps({"out": str(opts.out), "papers": len(rows), "mib": parts}))


if __name__ == "__main__":
    main()
