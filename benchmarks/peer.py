"""Peer benchmark: this project's server beside infinity-emb, with the same encoder, texts, load generator and CPU.

infinity-emb goes into a virtual environment of its own (`.peer/venv` in the checkout, built on the first run
with pip from PyPI and torch's CPU build from TORCH_WHEELS, as `make setup` finds it; never a dependency of this
project). The pipeline's fine-tuned encoder
(models/encoder) is exported for it the way its users do: `optimum-cli export onnx --library transformers`, and
`optimum-cli onnxruntime quantize` for the CPU's ISA, per tensor as optimum does by default and per channel.
infinity loads a folder with its optimum engine, which optimizes the graph itself and mean-pools in numpy.
This project's app serves the bundle in models/ (the same encoder with its adapter appended, one 384 x 384
MatMul more per text).

Every server is measured with wrk, the HTTP load generator, in a process of its own (`benchmarks/wrk.py`), on the
same real abstracts cut to 128 tokens (so all do the same work), each in its own API's request body:
requests/s and p50/p99 with one text per request at 1 and 8 clients, texts/s with 32 texts per request at 2
clients; and the mean and minimum cosine of its vectors to its model's fp32 torch vectors. Servers take turns
(A, B, A, B, ..., `--rounds` times); each figure is the median of the rounds with its spread, and each ratio the
median of the rounds' ratios.

    python -m benchmarks.peer            # needs models/ from `dvc repro`
    python -m benchmarks.peer --tiny     # one short round, int8 only, to check it still runs
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families
from tokenizers import Tokenizer

from arxiv_embed.encode.onnx_encoder import TOKENIZER_FILE
from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.machine import cpu_isa
from arxiv_embed.train.models import load_trained_encoder
from benchmarks.common import report
from benchmarks.wrk import (
    Server,
    interleaved,
    medians,
    ratio,
    run_wrk,
    summarize,
    write_bodies,
    wrk_binary,
    wrk_version,
)
from serve.metrics import BATCH_TEXTS, ENCODE_SECONDS, QUEUE_SECONDS
from serve.settings import Settings
from tools.processes import free_port, start_process, start_server
from tools.sample import real_papers

PEER_VERSION = "0.0.78"
PEER = f"infinity-emb=={PEER_VERSION}"
PEER_PACKAGES = [f"infinity-emb[server,optimum]=={PEER_VERSION}", "torch==2.13.0"]
PEER_VENV = Path(__file__).resolve().parents[1] / ".peer" / "venv"
TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/cpu/torch/"  # the Makefile's default TORCH_WHEELS
TOKENS = 128
BATCH = 32


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


@dataclass(frozen=True)
class Api:
    """How a server is asked for vectors: its route, the body for some texts, the vectors in its answer."""

    route: str
    body: Callable[[list[str]], dict]
    vectors: Callable[[dict], list[list[float]]]
    splits_encoding: bool = False  # its /metrics tells queue wait from compute


APIS = {
    "app": Api("/embed", lambda texts: {"texts": texts}, lambda answer: answer["vectors"], splits_encoding=True),
    "infinity": Api(
        "/embeddings",
        lambda texts: {"model": "peer", "input": texts},
        lambda answer: [row["embedding"] for row in answer["data"]],
    ),
}


def vectors_of(url: str, api: Api, texts: list[str]) -> np.ndarray:
    """Every text's vector from the server, 32 per request."""
    rows: list[list[float]] = []
    with httpx.Client(timeout=120) as http:
        for start in range(0, len(texts), BATCH):
            response = http.post(f"{url}{api.route}", json=api.body(texts[start : start + BATCH]))
            if response.status_code != 200:
                raise SystemExit(f"error: {url}{api.route} refused a batch of the benchmark's texts: {response.text}")
            rows.extend(api.vectors(response.json()))
    return np.asarray(rows, dtype=np.float32)


ENCODE_TOTALS = {  # the app's Prometheus series behind the split of its encoding time
    "queued": f"{QUEUE_SECONDS}_count",
    "queue_seconds": f"{QUEUE_SECONDS}_sum",
    "batches": f"{ENCODE_SECONDS}_count",
    "compute_seconds": f"{ENCODE_SECONDS}_sum",
    "texts": f"{BATCH_TEXTS}_sum",
}


def encode_totals(url: str) -> dict[str, float]:
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=30).text)
        for sample in family.samples
    }
    return {key: samples[name] for key, name in ENCODE_TOTALS.items()}


def encode_split(before: dict[str, float], after: dict[str, float]) -> dict:
    """Between two reads of the app's /metrics: a request's mean wait in the micro-batcher's queue, the graph's
    mean run on one batch, and texts per batch."""
    d = {key: after[key] - before[key] for key in before}
    return {
        "queue_wait_ms": round(1000 * d["queue_seconds"] / d["queued"], 2),
        "compute_ms_per_batch": round(1000 * d["compute_seconds"] / d["batches"], 2),
        "texts_per_batch": round(d["texts"] / d["batches"], 2),
    }


def loads_of(api: Api, texts: list[str], folder: Path) -> dict[str, Path]:
    """The request bodies of each load, the same texts for every server in its own API's shape: one text a
    request, and 32 a request."""
    single = [api.body([text]) for text in texts]
    batches = [api.body([texts[(i + j) % len(texts)] for j in range(BATCH)]) for i in range(0, len(texts), BATCH)]
    folder.mkdir(parents=True, exist_ok=True)
    return {"single": write_bodies(folder / "1.jsonl", single), "batch": write_bodies(folder / "32.jsonl", batches)}


def measurer(api: Api, bodies: dict[str, Path], texts: list[str], reference: np.ndarray, seconds: int):
    """One round on a server: one text a request at 1 and 8 clients, 32 a request at 2 clients, after a warm-up
    at 8 (the batch shapes concurrency makes); in the first round also the cosine of its vectors to `reference`."""

    def measure(url: str, number: int) -> dict:
        target = f"{url}{api.route}"
        run_wrk(target, bodies["single"], 8, max(1, seconds // 3))
        result = {"c1": run_wrk(target, bodies["single"], 1, seconds)}
        before = encode_totals(url) if api.splits_encoding else None
        result["c8"] = run_wrk(target, bodies["single"], 8, seconds)
        if before:
            result["c8_encoding"] = encode_split(before, encode_totals(url))
        batches = run_wrk(target, bodies["batch"], 2, seconds)
        result["batch32_c2"] = {**batches, "texts_per_s": round(batches["rps"] * BATCH, 1)}
        if number == 0:
            if api.splits_encoding:  # this app: which runtime ran its graph
                result["encoder_runtime"] = httpx.get(f"{url}/ready", timeout=30).json()["encoder_runtime"]
            cosines = np.sum(vectors_of(url, api, texts) * reference, axis=1)
            result["mean_cosine_to_fp32"] = round(float(cosines.mean()), 5)
            result["min_cosine_to_fp32"] = round(float(cosines.min()), 5)
        return result

    return measure


LOADS = ("c1", "c8", "batch32_c2")


def summary_of(rounds: list[dict]) -> dict:
    """A server's loads over the rounds (median and spread) and its vectors' fidelity (first round)."""
    split = {"c8_encoding": medians([r["c8_encoding"] for r in rounds])} if "c8_encoding" in rounds[0] else {}
    runtime = {"encoder_runtime": rounds[0]["encoder_runtime"]} if "encoder_runtime" in rounds[0] else {}
    return {
        **{load: summarize([r[load] for r in rounds]) for load in LOADS},
        **split,
        **runtime,
        "mean_cosine_to_fp32": rounds[0]["mean_cosine_to_fp32"],
        "min_cosine_to_fp32": rounds[0]["min_cosine_to_fp32"],
    }


def cut_texts(papers: list[dict], tokenizer: Tokenizer) -> list[str]:
    """Each abstract decoded back from its first 128 tokens, so that both servers encode 128 tokens of it."""
    tokenizer.enable_truncation(max_length=TOKENS)
    return [tokenizer.decode(e.ids, skip_special_tokens=True) for e in tokenizer.encode_batch(papers)]


def ratios(rounds: dict[str, list[dict]], variant: str, peer: str) -> dict:
    """This app over the peer, round by round (the two measured side by side), as median and spread."""
    ours, theirs = rounds[f"app_{variant}"], rounds[peer]

    def of(load: str, key: str) -> dict:
        return ratio([r[load] for r in ours], [r[load] for r in theirs], key)

    return {
        "c1_rps": of("c1", "rps"),
        "c8_rps": of("c8", "rps"),
        "c8_p99_ms": of("c8", "p99_ms"),
        "batch32_texts_per_s": of("batch32_c2", "texts_per_s"),
    }


def server_settings() -> dict:
    """How each server ran: the same thread budget (every core: neither sets a thread count), each its own
    batching."""
    app = {name: Settings.model_fields[name].default for name in ("threads", "spinning", "max_tokens", "batch_wait_ms")}
    app["runtime"] = "auto (the servers' encoder_runtime says which ran)"
    infinity = {"engine": "optimum (onnxruntime)", "batch_size": BATCH, "threads": 0, "pooling": "mean"}
    return {"threads_note": "0: the runtime's default, every core", "app": app, "infinity": infinity}


def goals_met(found: dict, goal: dict) -> dict:
    """Each goal against the median ratio."""
    met = {
        "int8_c8_rps": found["int8"]["c8_rps"]["median"] >= goal["int8_ratio"],
        "int8_c8_p99": found["int8"]["c8_p99_ms"]["median"] <= goal["c8_p99_ms_ratio_max"],
        "int8_batch32": found["int8"]["batch32_texts_per_s"]["median"] >= goal["int8_ratio"],
    }
    if "fp32" in found:
        met["fp32_c8_rps"] = found["fp32"]["c8_rps"]["median"] >= goal["fp32_ratio"]
        met["fp32_batch32"] = found["fp32"]["batch32_texts_per_s"]["median"] >= goal["fp32_ratio"]
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per measure")
    parser.add_argument("--rounds", type=int, default=3, help="each server is measured this many times, in turns")
    parser.add_argument("--venv", type=Path, default=PEER_VENV)
    parser.add_argument("--tiny", action="store_true", help="one short round, int8 only")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    wrk_binary()  # before minutes of export: no load generator, one line
    n, seconds, rounds = (16, 1, 1) if opts.tiny else (opts.texts, opts.seconds, opts.rounds)
    models = ModelFolders(opts.models)
    tokenizer = Tokenizer.from_file(str(models.served_onnx / TOKENIZER_FILE))
    texts = cut_texts([p["abstract"] for p in real_papers(n, seed=3)], tokenizer)
    references = {}
    served_torch = models.adapter.sentence_model  # the served encoder, adapter included
    for name, folder in (("app", served_torch), ("infinity", models.encoder)):
        model = load_trained_encoder(folder, "cpu")
        references[name] = model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    bin_dir = peer_bin(opts.venv)
    variants = ["int8"] if opts.tiny else ["int8", "fp32"]
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        folders = export_for_peer(bin_dir, models.encoder, Path(tmp))
        bodies = {kind: loads_of(api, texts, Path(tmp) / "bodies" / kind) for kind, api in APIS.items()}

        def app(variant: str) -> Server:
            env = {"ARXIV_EMBED_ONNX_VARIANT": variant}
            return Server(
                lambda: start_server(["-m", "serve"], opts.models, env),
                measurer(APIS["app"], bodies["app"], texts, references["app"], seconds),
            )

        def peer(variant: str) -> Server:
            return Server(
                lambda: start_peer(bin_dir, folders[variant], Path(tmp) / "hf"),
                measurer(APIS["infinity"], bodies["infinity"], texts, references["infinity"], seconds),
            )

        servers = {f"app_{v}": app(v) for v in variants}
        servers |= {f"infinity_{v}": peer(v) for v in [*variants, "int8_per_channel"]}
        found = interleaved(servers, rounds)
    goal = {"int8_ratio": 1.3, "fp32_ratio": 1.2, "c8_p99_ms_ratio_max": 1.0, "int8_mean_cosine": 0.99}
    found_ratios = {
        "int8": ratios(found, "int8", "infinity_int8"),
        "int8_vs_peer_per_channel": ratios(found, "int8", "infinity_int8_per_channel"),
        **({"fp32": ratios(found, "fp32", "infinity_fp32")} if "fp32" in variants else {}),
    }
    result = {
        "benchmark": "peer",
        "peer": f"{PEER} (optimum engine, graphs from optimum-cli)",
        "load_generator": wrk_version(),
        "texts": len(texts),
        "tokens_per_text": TOKENS,
        "seconds_per_measure": seconds,
        "rounds": rounds,
        "settings": server_settings(),
        "servers": {name: summary_of(r) for name, r in found.items()},
        "ratios": found_ratios,
        "goal": goal,
        "goals_met": goals_met(found_ratios, goal),
    }
    report("peer", result, opts.out, per_cpu=True)


if __name__ == "__main__":
    main()
