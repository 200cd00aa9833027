"""Each benchmark runs once in its tiny mode on the pipeline's artifacts, so none of them can rot."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from arxiv_embed.machine import cpu_isa, isa_name
from benchmarks.threads import settings
from tests.conftest import ROOT, TINY_MPNET_WIDTH, missing, run

pytestmark = pytest.mark.e2e


@pytest.fixture
def wrk() -> None:
    """The load generator of the serving benchmarks (`.ci/debian-packages.sh` installs it)."""
    if not shutil.which("wrk"):
        missing("wrk is not installed: run `bash .ci/debian-packages.sh`")


def bench(module: str, args: list[str], out: Path, name: str | None = None) -> dict:
    """The benchmark's printed result, once it equals what it kept as metrics/bench_<name>.json (by default the
    module's name)."""
    proc = run([sys.executable, "-m", module, "--tiny", "--out", str(out), *args], ROOT, timeout=900)
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    name = name or module.split(".")[-1]
    assert json.loads((out / f"bench_{name}.json").read_text()) == printed
    return printed


def test_encode_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench(
        "benchmarks.encode",
        [
            *("--models", str(pipeline_repo / "models"), "--val", str(pipeline_repo / "data/processed/val.parquet")),
            *("--train", str(pipeline_repo / "data/processed/train.parquet")),
        ],
        tmp_path,
        f"encode_{isa_name(cpu_isa())}",
    )
    encoders = result["encoders"]
    assert set(encoders) == {"torch_fp32", "onnx_fp32", "onnx_int8", "openvino_fp32", "openvino_int8"}
    assert all(encoders[name]["min_cosine_to_torch"] >= 0.999 for name in ("onnx_fp32", "openvino_fp32"))
    choices = result["choices"]
    assert set(choices["fp32_graph"]) == {"unfused", "fused"}
    assert choices["fp32_graph"]["fused"]["min_cosine_to_torch"] >= 0.999
    assert choices["int8_quantization"]["matmul_attention_per_channel"]["mean_cosine_to_torch"] >= 0.99
    assert set(choices["int8_max_tokens"]) == {"512", "1024", "2048", "4096", "8192"}


def test_model_scale_benchmark(pipeline_repo: Path, tiny_mpnet: Path, tmp_path: Path) -> None:
    """Both architectures through the export as the pipeline does it: MiniLM (BERT) and the tiny MPNet."""
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    test = pipeline_repo / "data/processed/test.parquet"
    result = bench("benchmarks.model_scale", ["--models", minilm, str(tiny_mpnet), "--test", str(test)], tmp_path)
    models = result["models"]
    assert [models[m]["model_type"] for m in models] == ["bert", "mpnet"]
    assert models[str(tiny_mpnet)]["dim"] == TINY_MPNET_WIDTH
    for row in models.values():
        assert row["onnx"]["fp32"]["min_cosine"] >= 0.999 and row["onnx"]["int8"]["mean_cosine"] >= 0.99
        quality = row["test_leave_one_out"]
        assert quality["p@10_lo"] <= quality["p@10"] <= quality["p@10_hi"] and "mrr@10" in quality


def test_peer_benchmark_installs_infinity_and_drives_both_servers(pipeline_repo: Path, tmp_path: Path, wrk) -> None:
    """infinity-emb in a venv of its own (pip, on the first run), both servers on loopback, the same texts."""
    args = ["--models", str(pipeline_repo / "models"), "--venv", str(tmp_path / "peer-venv")]
    result = bench("benchmarks.peer", args, tmp_path, f"peer_{isa_name(cpu_isa())}")
    assert set(result["servers"]) == {"app_int8", "infinity_int8", "infinity_int8_per_channel"}
    for server in result["servers"].values():
        assert all(server[m]["errors"] == 0 and server[m]["rps"] > 0 for m in ("c1", "c8", "batch32_c2"))
        assert server["mean_cosine_to_fp32"] > 0.5  # the same texts: per-tensor int8 drifts most
    assert result["servers"]["app_int8"]["mean_cosine_to_fp32"] >= 0.99
    found = result["ratios"]["int8"]["batch32_texts_per_s"]
    assert 0 < found["min"] <= found["median"] <= found["max"]
    assert result["load_generator"].startswith("wrk") and set(result["goals_met"]) >= {"int8_c8_rps", "int8_c8_p99"}
    assert result["servers"]["app_int8"]["encoder_runtime"] in {"onnxruntime", "openvino"}
    assert result["settings"]["app"]["threads"] == result["settings"]["infinity"]["threads"] == 0


def test_serve_benchmark(pipeline_repo: Path, tmp_path: Path, wrk) -> None:
    result = bench("benchmarks.serve", ["--models", str(pipeline_repo / "models")], tmp_path)
    for server in ("app_fp32", "app_int8", "baseline_torch"):
        assert all(level["errors"] == 0 and level["rps"] > 0 for level in result[server].values())
    assert all(ratio["min"] <= ratio["median"] <= ratio["max"] for ratio in result["rps_ratio"]["app_int8"].values())
    assert set(result["embed"]) == {"app_fp32", "app_int8"}


def test_threads_benchmark(pipeline_repo: Path, tmp_path: Path, wrk) -> None:
    """Each installed runtime's thread settings served and measured; the file is named by the CPU's widest vector
    ISA."""
    name = f"threads_{isa_name(cpu_isa())}"
    result = bench("benchmarks.threads", ["--models", str(pipeline_repo / "models")], tmp_path, name)
    tried = settings()
    assert {"onnxruntime_all_spinning", "onnxruntime_1_sleeping", "openvino_all", "openvino_1"} <= set(tried)
    assert set(result["settings"]) == set(tried) and result["fastest_at"]["c2"] in tried
    assert all(s[c]["errors"] == 0 and s[c]["rps"] > 0 for s in result["settings"].values() for c in ("c1", "c2"))
    assert result["served_default"] == {"runtime": "auto", "threads": 0, "spinning": True}


def test_model_serving_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    """Each named bundle served in turn: its memory and /search at c1 and c8, and what /ready says it serves."""
    result = bench("benchmarks.model_serving", [f"minilm={pipeline_repo / 'models'}"], tmp_path)
    served = result["bundles"]["minilm"]
    assert served["onnx_variant"] == "int8" and served["dim"] > 0 and served["corpus_size"] > 0
    assert 0 < served["rss_mb_at_ready"] <= served["rss_mb_peak"]
    assert all(served["search"][c]["errors"] == 0 and served["search"][c]["rps"] > 0 for c in ("c1", "c8"))


def test_recommend_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.recommend", ["--models", str(pipeline_repo / "models/bundle")], tmp_path)
    for level in result["levels"].values():
        assert all(level[route]["errors"] == 0 and level[route]["rps"] > 0 for route in ("search", "recommend"))
    assert result["liked_ids_per_request"] > 1 and result["p99_ratio_to_search"]["c8"] > 0


def test_library_file_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.library_file", ["--models", str(pipeline_repo / "models/bundle")], tmp_path)
    assert result["errors"] == 0 and result["library"]["file_entries"] == result["entries"] == 50
    assert result["library"]["file_entries_by_id"] == result["entries_in_index"] and result["p50_seconds"] > 0


def test_index_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench(
        "benchmarks.index", ["--models", str(pipeline_repo / "models"), "--cache", str(tmp_path / "cache")], tmp_path
    )
    assert result["indexes"]["flat"]["recall@10"] == 1.0
    assert set(result["indexes"]) >= {"flat", "hnsw_m32_ef128", "ivf_nprobe16"}


def test_scale_benchmark_then_the_update_benchmark_on_its_index(pipeline_repo: Path, tmp_path: Path, wrk) -> None:
    scale_work = tmp_path / "work"
    result = bench("benchmarks.scale", ["--pipeline", str(pipeline_repo), "--work", str(scale_work)], tmp_path)
    assert result["corpus"]["synthetic"] and result["corpus"]["vectors"] == 20_000
    assert result["index"]["type"] == "ivfpq" and 0 < result["recall@10_vs_exact"] <= 1
    assert all(level["errors"] == 0 for level in result["server"]["search"].values())
    assert all(level["errors"] == 0 for level in result["server"]["recommend_50_liked_ids"].values())
    assert result["server"]["rss_mb_at_ready"]["VmRSS"] > 0

    args = ["--models", str(pipeline_repo / "models"), "--work", str(tmp_path / "update")]
    args += ["--scale", "--scale-work", str(scale_work), "--pipeline", str(pipeline_repo)]
    update = bench("benchmarks.update", args, tmp_path)
    d = update["default"]
    assert d["papers"] == 20 + 10 and d["old_papers_reembedded"] == 0
    assert d["after"]["corpus_size"] == d["before"]["corpus_size"] + 20 - 10
    assert all(d["incremental_equals_from_scratch"][k] for k in ("files", "vectors"))
    assert d["incremental_equals_from_scratch"]["flat_top10"]["identical_share"] == 1.0
    assert d["swap"]["errors"] == 0 and d["swap"]["during_swap"]["requests"] > 0
    scale = update["scale"]
    assert scale["size_after"] == scale["index_size"] + 20 and 0 < scale["recall_after"] <= 1


def test_download_benchmark(sample: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.download", [], tmp_path)
    assert result["runs"]["x2"]["papers"] == 2 * result["runs"]["x1"]["papers"] == 4000
    assert result["runs"]["x2"]["shards"] == 4 and result["runs"]["x1"]["peak_rss_mb"] > 0


def test_data_path_benchmark(sample: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.data_path", [], tmp_path)
    assert set(result["samplers"]) == {"mnrl_distinct", "mnrl_masked"} and result["texts_per_second"] > 0
    assert all(s["texts"] > 0 and s["padding_share"] < 0.3 for s in result["samplers"].values())
    assert result["cpu"]["cores"] >= 1 and "avx2" in result["cpu"]


def test_gpu_benchmark_and_its_carry_folder_on_cpu(tmp_path: Path) -> None:
    carry = tmp_path / "gpu-carry"
    run([sys.executable, "-m", "tools.gpu_carry", "--out", str(carry), "--papers", "300", "--no-wheels"], ROOT)
    result = bench("benchmarks.gpu", ["--carry", str(carry)], tmp_path)
    assert result["device"] == "cpu" and result["papers"] == 300
    assert result["finetune"]["texts_per_second"] > 0 and result["embed"]["texts_per_second"] > 0


def test_labels_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.labels", ["--repo", str(pipeline_repo)], tmp_path)
    half, whole = result["curve"]
    assert whole["train_vectors"] == json.loads((pipeline_repo / "metrics/adapter.json").read_text())["train_vectors"]
    assert half["train_vectors"] == whole["train_vectors"] // 2
    as_many_again = whole["train_vectors"] / result["embed_papers_per_second"]
    assert result["seconds_to_embed_as_many_again"] == round(as_many_again, 1)
    assert 0 <= whole["adapter_val_p@10"] <= 1 and 0 <= whole["embedding_val_accuracy"] <= 1


def test_search_modes_benchmark(pipeline_repo: Path, tmp_path: Path) -> None:
    result = bench("benchmarks.search_modes", ["--models", str(pipeline_repo / "models")], tmp_path)
    assert result["papers"] == 2000 and result["postings"] > result["papers"]
    assert set(result["latency_one_query"]) == {"dense", "lexical", "hybrid"}
