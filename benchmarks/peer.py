"""Peer benchmark: this project's server beside infinity-emb, with the same encoder, texts, client and CPU.

infinity-emb goes into a virtual environment of its own (`.peer/venv` in the checkout, built on the first run
with pip from PyPI and torch's CPU build from TORCH_WHEELS, as `make setup` finds it; never a dependency of this
project). The pipeline's fine-tuned encoder
(models/encoder) is exported for it the way its users do: `optimum-cli export onnx --library transformers`, and
`optimum-cli onnxruntime quantize` for the CPU's ISA, per tensor as optimum does by default and per channel.
infinity loads a folder with its optimum engine, which optimizes the graph itself and mean-pools in numpy.
This project's app serves the bundle in models/ (the same encoder with its adapter appended, one 384 x 384
MatMul more per text).

Each server in turn, on loopback, gets the same real abstracts cut to 128 tokens (so both do the same work) from
the same HTTP client: requests/s and p50/p99 with one text per request at 1 and 8 clients, texts/s with 32 texts
per request at 2 clients, and the mean and minimum cosine of its vectors to its model's fp32 torch vectors.

    python -m benchmarks.peer            # needs models/ from `dvc repro`
    python -m benchmarks.peer --tiny     # a few requests, int8 only, to check it still runs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from tokenizers import Tokenizer

from arxiv_embed.encode.onnx_encoder import TOKENIZER_FILE
from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.machine import cpu_isa
from arxiv_embed.train.models import load_trained_encoder
from benchmarks.common import real_papers, report
from benchmarks.serve import drive
from tools.processes import free_port, start_process, start_server

PEER_VERSION = "0.0.78"
PEER = f"infinity-emb=={PEER_VERSION}"
PEER_PACKAGES = [f"infinity-emb[server,optimum]=={PEER_VERSION}", "torch==2.13.0"]
PEER_VENV = Path(__file__).resolve().parents[1] / ".peer" / "venv"
TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/cpu/torch/"  # the Makefile's default TORCH_WHEELS
TOKENS = 128
BATCH = 32
Post = Callable[[httpx.AsyncClient, list[str]], Awaitable[list[list[float]] | None]]


def peer_bin(venv: Path) -> Path:
    """The peer venv's bin folder, built with pip on first use. An absolute path: the peer runs in its model's
    folder."""
    venv = venv.resolve()
    bin_dir = venv / "bin"
    if (bin_dir / "infinity_emb").exists():
        return bin_dir
    print(f"installing {PEER} into {venv} (once)", file=sys.stderr)
    wheels = (os.environ.get("TORCH_WHEELS") or os.environ.get("PIP_FIND_LINKS") or TORCH_CPU_WHEELS).split()
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        links = [arg for w in wheels for arg in ("--find-links", w)]
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", *links, *PEER_PACKAGES]
        subprocess.run(pip, check=True)
    except subprocess.CalledProcessError as err:
        shutil.rmtree(venv, ignore_errors=True)
        raise SystemExit(f"error: could not install {PEER} into {venv} ({err}); is PyPI reachable?") from None
    return bin_dir


def export_for_peer(bin_dir: Path, encoder: Path, work: Path) -> dict[str, Path]:
    """The encoder as optimum exports and quantizes it: a folder per variant, each with one .onnx file."""
    isa = "avx512_vnni" if cpu_isa().get("avx512_vnni") else "avx2"
    fp32 = work / "fp32"
    optimum = str(bin_dir / "optimum-cli")
    export = [optimum, "export", "onnx", "--model", str(encoder), "--task", "feature-extraction"]
    run_quiet([*export, "--library", "transformers", str(fp32)])
    folders = {"fp32": fp32}
    for name, extra in (("int8", []), ("int8_per_channel", ["--per_channel"])):
        folder = work / name
        run_quiet(
            [optimum, "onnxruntime", "quantize", "--onnx_model", str(fp32), f"--{isa}", *extra, "-o", str(folder)]
        )
        for path in fp32.iterdir():  # tokenizer and config beside the quantized graph
            if path.suffix != ".onnx" and not (folder / path.name).exists():
                shutil.copy(path, folder / path.name)
        folders[name] = folder
    return folders


def run_quiet(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: {' '.join(command)} failed: {done.stderr[-2000:]}")


def start_peer(bin_dir: Path, folder: Path, cache: Path) -> tuple[subprocess.Popen, str]:
    """infinity on one exported folder. It runs in that folder with model id "." because its optimum engine
    looks a local model's graph up by the path it listed, relative to the model id."""
    port = free_port()
    env = {**os.environ, "HF_HOME": str(cache), "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
    command = [str(bin_dir / "infinity_emb"), "v2", "--model-id", ".", "--served-model-name", "peer"]
    command += ["--engine", "optimum", "--device", "cpu", "--batch-size", str(BATCH), "--pooling-method", "mean"]
    command += ["--no-vector-disk-cache", "--host", "127.0.0.1", "--port", str(port)]
    return start_process(command, env, port, "/health", cwd=folder)


def app_post(url: str) -> Post:
    async def post(http: httpx.AsyncClient, texts: list[str]) -> list[list[float]] | None:
        response = await http.post(f"{url}/embed", json={"texts": texts})
        return response.json()["vectors"] if response.status_code == 200 else None

    return post


def peer_post(url: str) -> Post:
    async def post(http: httpx.AsyncClient, texts: list[str]) -> list[list[float]] | None:
        response = await http.post(f"{url}/embeddings", json={"model": "peer", "input": texts})
        return [row["embedding"] for row in response.json()["data"]] if response.status_code == 200 else None

    return post


@dataclass(frozen=True)
class Workload:
    texts: list[str]
    requests: int  # per measure
    time_limit: float

    def cut(self, i: int, size: int) -> list[str]:
        return [self.texts[(i * size + j) % len(self.texts)] for j in range(size)]


async def vectors_of(post: Post, texts: list[str]) -> np.ndarray:
    """Every text's vector from the server, 32 per request."""
    rows: list[list[float]] = []
    async with httpx.AsyncClient(timeout=120) as http:
        for start in range(0, len(texts), BATCH):
            found = await post(http, texts[start : start + BATCH])
            if found is None:
                raise SystemExit("error: a server refused a batch of the benchmark's texts")
            rows.extend(found)
    return np.asarray(rows, dtype=np.float32)


def measure(post: Post, work: Workload, reference: np.ndarray) -> dict:
    """Single-text requests at 1 and 8 clients, 32-text requests at 2 clients, and fidelity to `reference`."""

    def requests_of(size: int):
        async def send(http: httpx.AsyncClient, i: int) -> bool:
            return await post(http, work.cut(i, size)) is not None

        return send

    asyncio.run(drive(requests_of(1), 8, 24, work.time_limit))  # warm-up: the batch shapes concurrency makes
    result = {f"c{c}": asyncio.run(drive(requests_of(1), c, work.requests, work.time_limit)) for c in (1, 8)}
    batches = asyncio.run(drive(requests_of(BATCH), 2, max(4, work.requests // 4), work.time_limit))
    result["batch32_c2"] = {**batches, "texts_per_s": round(batches["rps"] * BATCH, 1)}
    cosines = np.sum(asyncio.run(vectors_of(post, work.texts)) * reference, axis=1)
    result["mean_cosine_to_fp32"] = round(float(cosines.mean()), 5)
    result["min_cosine_to_fp32"] = round(float(cosines.min()), 5)
    return result


def mean_of(rounds: list[dict]) -> dict:
    """One server's measures averaged over the rounds (counts of requests and errors summed)."""
    first = rounds[0]
    if isinstance(first, dict):
        return {key: mean_of([r[key] for r in rounds]) for key in first}
    return sum(rounds) if isinstance(first, int) else round(float(np.mean(rounds)), 5 if first <= 1 else 1)


def cut_texts(papers: list[dict], tokenizer: Tokenizer) -> list[str]:
    """Each abstract decoded back from its first 128 tokens, so that both servers encode 128 tokens of it."""
    tokenizer.enable_truncation(max_length=TOKENS)
    return [tokenizer.decode(e.ids, skip_special_tokens=True) for e in tokenizer.encode_batch(papers)]


def ratios(servers: dict, variant: str, peer: str) -> dict:
    ours, theirs = servers[f"app_{variant}"], servers[peer]
    return {
        "c1_rps": round(ours["c1"]["rps"] / theirs["c1"]["rps"], 2),
        "c8_rps": round(ours["c8"]["rps"] / theirs["c8"]["rps"], 2),
        "c8_p99_ms": round(ours["c8"]["p99_ms"] / theirs["c8"]["p99_ms"], 2),
        "batch32_texts_per_s": round(ours["batch32_c2"]["texts_per_s"] / theirs["batch32_c2"]["texts_per_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--requests", type=int, default=300, help="requests per measure")
    parser.add_argument("--rounds", type=int, default=2, help="each server is measured this many times, in turns")
    parser.add_argument("--venv", type=Path, default=PEER_VENV)
    parser.add_argument("--tiny", action="store_true", help="a few requests, int8 only")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    n, requests = (16, 6) if opts.tiny else (opts.texts, opts.requests)
    models = ModelFolders(opts.models)
    opts.rounds = 1 if opts.tiny else opts.rounds
    tokenizer = Tokenizer.from_file(str(models.served_onnx / TOKENIZER_FILE))
    texts = cut_texts([p["abstract"] for p in real_papers(n, seed=3)], tokenizer)
    work = Workload(texts, requests, time_limit=120)
    references = {}
    served_torch = models.adapter.sentence_model  # the served encoder, adapter included
    for name, folder in (("app", served_torch), ("infinity", models.encoder)):
        model = load_trained_encoder(folder, "cpu")
        references[name] = model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    bin_dir = peer_bin(opts.venv)
    variants = ["int8"] if opts.tiny else ["int8", "fp32"]
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        folders = export_for_peer(bin_dir, models.encoder, Path(tmp))
        runs = [(f"app_{v}", v) for v in variants]
        runs += [(f"infinity_{v}", v) for v in variants] + [("infinity_int8_per_channel", "int8_per_channel")]
        rounds: dict[str, list[dict]] = {name: [] for name, _ in runs}
        for _ in range(opts.rounds):  # servers take turns, so a slow spell of a shared machine hits all of them
            for name, variant in runs:
                if name.startswith("app"):
                    env = {"ARXIV_EMBED_ONNX_VARIANT": variant}
                    proc, url = start_server(["-m", "serve"], opts.models, env)
                    post, reference = app_post(url), references["app"]
                else:
                    proc, url = start_peer(bin_dir, folders[variant], Path(tmp) / "hf")
                    post, reference = peer_post(url), references["infinity"]
                try:
                    rounds[name].append(measure(post, work, reference))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    servers = {name: mean_of(found) for name, found in rounds.items()}
    result = {
        "benchmark": "peer",
        "peer": f"{PEER} (optimum engine, graphs from optimum-cli)",
        "texts": len(texts),
        "tokens_per_text": TOKENS,
        "requests_per_measure": requests,
        "rounds": opts.rounds,
        "servers": servers,
        "ratios": {
            "int8": ratios(servers, "int8", "infinity_int8"),
            "int8_vs_peer_per_channel": ratios(servers, "int8", "infinity_int8_per_channel"),
            **({"fp32": ratios(servers, "fp32", "infinity_fp32")} if "fp32" in variants else {}),
        },
        "goal": {"int8_ratio": 1.3, "fp32_ratio": 1.2, "c8_p99_ms_ratio_max": 1.0, "int8_mean_cosine": 0.99},
    }
    report("peer", result, opts.out)


if __name__ == "__main__":
    main()
