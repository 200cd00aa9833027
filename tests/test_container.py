"""Build the real Docker image on the tiny pipeline's artifacts, run it, and talk to it over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from benchmarks.common import report
from benchmarks.soak import GOAL, soak
from tests.conftest import run
from tests.helpers import wait_until
from tools.processes import free_port, wait_for_http

pytestmark = [pytest.mark.e2e, pytest.mark.docker]
MAX_IMAGE_BYTES = 1_000_000_000


def docker_ready() -> bool:
    return (
        shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


@pytest.fixture(scope="module")
def image(pipeline_repo: Path):
    if not docker_ready():
        message = "no Docker engine answers (`.ci/run` installs and starts one)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    tag = build_image(pipeline_repo)
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def build_image(repo: Path, *build_args: str) -> str:
    """`docker build` of `repo` on the CI's base image where it has one; returns the new tag."""
    tag = f"arxiv-embed-test:{uuid.uuid4().hex[:8]}"
    base = os.environ.get("ARXIV_EMBED_BASE_IMAGE")
    args = [*build_args, *(["--build-arg", f"BASE_IMAGE={base}"] if base else [])]
    run(["docker", "build", "--network", "host", "-t", tag, *args, "."], repo, timeout=900)
    return tag


def test_image_is_small_and_torch_free(image: str) -> None:
    size = int(run(["docker", "image", "inspect", "--format", "{{.Size}}", image], Path.cwd()).stdout)
    assert size <= MAX_IMAGE_BYTES, f"image is {size / 1e9:.2f} GB"
    heavy = "('torch', 'sklearn', 'sentence_transformers')"
    probe = f"import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in {heavy}))"
    run(["docker", "run", "--rm", "--entrypoint", "python3", image, "-c", probe], Path.cwd())
    no_build_tools = (
        "import shutil, sys, glob; sys.exit(any(map(shutil.which, ('gcc', 'cc', 'g++', 'make', 'pip')))"
        " or bool(glob.glob('/root/.cache/pip') + glob.glob('/home/*/.cache/pip') + glob.glob('/var/cache/apt/*.bin')))"
    )
    run(["docker", "run", "--rm", "--entrypoint", "python3", image, "-c", no_build_tools], Path.cwd())
    user = run(["docker", "run", "--rm", "--entrypoint", "id", image, "-u"], Path.cwd()).stdout.strip()
    assert user != "0"


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[tuple[str, int, str]]:
    """The image started locked down: read-only root filesystem, no capabilities, no privilege gain, only /tmp
    writable. Yields its URL, the host pid of its server process and its name."""
    port = free_port()
    name = f"arxiv-embed-test-{uuid.uuid4().hex[:8]}"
    locked_down = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--tmpfs", "/tmp"]
    run(["docker", "run", "-d", "--name", name, *locked_down, "-p", f"127.0.0.1:{port}:8000", image], Path.cwd())
    base = f"http://127.0.0.1:{port}"

    def exited() -> str | None:
        inspect = ["docker", "inspect", "-f", "{{.State.Status}}", name]
        state = subprocess.run(inspect, capture_output=True, text=True).stdout.strip()
        return None if state in ("created", "running") else f"container is {state}"

    try:
        try:
            wait_for_http(f"{base}/ready", 90, exited)
        except RuntimeError as err:
            output = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
            raise AssertionError(f"{err}\n{output.stdout}{output.stderr}") from None
        pid = int(run(["docker", "inspect", "-f", "{{.State.Pid}}", name], Path.cwd()).stdout)
        yield base, pid, name
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)


def test_container_answers_search_and_classify(container: tuple[str, int, str], test_papers: pd.DataFrame) -> None:
    base, _, _ = container
    paper = test_papers.iloc[2]
    hits = httpx.post(f"{base}/search", json={"text": paper["abstract"], "k": 3}, timeout=30).json()["results"]
    assert hits[0]["id"] == paper["id"]
    categories = httpx.post(f"{base}/classify", json={"abstract": paper["abstract"], "k": 2}, timeout=30).json()
    assert len(categories["categories"]) == 2
    assert httpx.post(f"{base}/search", json={"text": " "}, timeout=5).status_code == 422


def test_container_holds_32_clients_for_60_seconds(
    container: tuple[str, int, str], test_papers: pd.DataFrame, tmp_path: Path
) -> None:
    """`benchmarks/soak.py` against the locked-down container: no error, RSS flat; the JSON goes to the log."""
    base, pid, _ = container
    result = asyncio.run(soak(base, pid, test_papers["abstract"].tolist(), concurrency=32, seconds=60, warmup=10))
    report("soak", result, tmp_path)  # printed: `pytest -s` shows it
    assert result["requests"] > 0 and result["errors"] == GOAL["errors"], result
    assert result["rss_growth_pct"] <= GOAL["rss_growth_pct"], result


def test_docker_kill_hup_reloads_the_bundle_without_a_restart(container: tuple[str, int, str]) -> None:
    """What `make update RELOAD="docker kill -s HUP ..."` sends: the server verifies /models again and swaps it in."""
    base, _, name = container
    pid = int(run(["docker", "inspect", "-f", "{{.State.Pid}}", name], Path.cwd()).stdout)
    before = httpx.get(f"{base}/ready", timeout=10).json()
    run(["docker", "kill", "-s", "HUP", name], Path.cwd())

    def logs() -> str:
        done = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        return done.stdout + done.stderr

    wait_until(lambda: "now serving bundle" in logs(), 60, "the container to log the swap", interval=0.5)
    after = httpx.get(f"{base}/ready", timeout=10).json()
    assert after["bundle_version"] == before["bundle_version"]  # the same files, loaded again
    assert int(run(["docker", "inspect", "-f", "{{.State.Pid}}", name], Path.cwd()).stdout) == pid  # no restart


def test_a_saved_library_lives_in_the_data_volume_across_a_restart(
    container: tuple[str, int, str], test_papers: pd.DataFrame
) -> None:
    """The root stays read-only; /data, the image's volume, keeps the saved libraries when the container restarts."""
    base, _, name = container
    made = httpx.post(f"{base}/libraries", json={"like": test_papers["id"].head(2).tolist()}, timeout=30)
    assert made.status_code == 201, made.text
    run(["docker", "restart", name], Path.cwd())
    wait_for_http(f"{base}/ready", 90, lambda: None)
    owner = {"Authorization": f"Bearer {made.json()['owner_secret']}"}
    assert httpx.get(f"{base}/libraries/{made.json()['id']}", headers=owner, timeout=10).status_code == 200


def test_the_openvino_image_runs_int8_on_the_runtime_chosen_for_this_cpu(
    container: tuple[str, int, str], pipeline_repo: Path
) -> None:
    """`make image SERVE_LOCK=requirements/serve-openvino.txt` adds OpenVINO: on the pipeline's CPU its server takes
    the pipeline's choice; the default image, without OpenVINO, runs onnxruntime."""
    chosen = json.loads((pipeline_repo / "models/openvino/runtime.json").read_text())["variants"]["int8"]["chosen"]
    tag = build_image(pipeline_repo, "--build-arg", "SERVE_LOCK=requirements/serve-openvino.txt")
    port, name = free_port(), f"arxiv-embed-test-{uuid.uuid4().hex[:8]}"
    try:
        run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", tag], Path.cwd())
        wait_for_http(f"http://127.0.0.1:{port}/ready", 90, lambda: None)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10).json()
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    assert (ready["encoder_runtime"], ready["runtime_choice"]["chosen_by"]) == (chosen, "export")
    default = httpx.get(f"{container[0]}/ready", timeout=10).json()
    expected = ("onnxruntime", "export" if chosen == "onnxruntime" else "default")
    assert (default["encoder_runtime"], default["runtime_choice"]["chosen_by"]) == expected
