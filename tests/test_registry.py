"""From `dvc exp show` to a running container: the registry round trip of docs/production.md, command for command.

A copy of the tiny pipeline's repository gets a local DVC remote; two experiments are registered with
`make register` (GTO versions of the artifact `arxiv-embed`), one is assigned to prod with `gto assign`, and a
fresh clone fetches `--stage prod` from the remote: the bundle whose manifest names that experiment, and whose
release.json names that version. A rollback is one more `gto assign`. With a Docker engine, `make container
STAGE=prod` serves it and /ready says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.bundle import load_bundle
from serve.app import create_app
from serve.settings import Settings
from tests.conftest import ROOT, SET_UP, TINY_PARAMS, run
from tests.test_container import docker_ready
from tools.processes import free_port, wait_for_http

pytestmark = pytest.mark.e2e
GIT_USER = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
EXPERIMENTS = {"wide-c": 1.5, "narrow-c": 0.5}  # classifier.C of each, unlike any other test's: no run-cache hit
PAGE = ROOT / "docs/templates/production.md.j2"
REGISTER, ASSIGN, CONTAINER = (
    "make register EXP=<experiment>",
    "gto assign arxiv-embed HEAD --stage prod",
    "make container STAGE=prod",
)


def test_the_page_lists_the_three_commands_these_tests_run() -> None:
    block = PAGE.read_text().split("## Three commands", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.splitlines()] == [REGISTER, ASSIGN, CONTAINER]


def sh(cmd: list[str], cwd: Path) -> str:
    return run(cmd, cwd, env=GIT_USER, timeout=900).stdout


@pytest.fixture(scope="module")
def registry(pipeline_repo: Path, tiny_source: Path, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The registry repository: two experiments registered as two versions, their outs on a local DVC remote."""
    base = tmp_path_factory.mktemp("registry")
    repo, remote = base / "repo", base / "remote"
    shutil.copytree(pipeline_repo, repo, symlinks=True, ignore=shutil.ignore_patterns("queue-start.log"))
    sh(["dvc", "remote", "add", "-d", "storage", str(remote)], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "The tiny run, with a local DVC remote"], repo)
    tiny = [f"{section}.{key}={value}" for section, values in TINY_PARAMS.items() for key, value in values.items()]
    overrides = [arg for setting in (*tiny, f"data.source={tiny_source}") for arg in ("-S", setting)]
    registered = {}
    for name, c in EXPERIMENTS.items():
        sh(["dvc", "exp", "run", "-n", name, *overrides, "-S", f"classifier.C={c}"], repo)
        sh([*REGISTER.replace("<experiment>", name).split(), SET_UP], repo)  # docs/production.md, command 1
        registered[name] = sh(["git", "describe", "--tags", "--match", "arxiv-embed@*", "HEAD"], repo).strip()
    assert sh(["git", "branch", "--show-current"], repo).strip() in ("main", "master")
    return repo, {name: tag.split("@")[1] for name, tag in registered.items()}


def fetch_prod(repo: Path, clone: Path) -> dict:
    """A fresh clone with the registry's tags fetches the prod bundle from the remote; its manifest and release."""
    if clone.exists():
        sh(["git", "fetch", "-q", "--tags", "--force"], clone)
    else:
        sh(["git", "clone", "-q", str(repo), str(clone)], clone.parent)
    assert not (clone / ".dvc/cache").exists()  # nothing local: what it fetches comes from the remote
    sh(["python", "-m", "tools.fetch_bundle", "--stage", "prod", "-o", "build/bundle"], clone)
    bundle = clone / "build/bundle"
    return {
        **json.loads((bundle / "manifest.json").read_text()),
        "release": json.loads((bundle / "release.json").read_text()),
    }


def test_prod_fetches_the_bundle_of_the_version_it_points_at(registry, tmp_path: Path) -> None:
    repo, registered = registry
    assert registered["wide-c"] != registered["narrow-c"]
    sh(ASSIGN.split(), repo)  # docs/production.md, command 2
    prod = fetch_prod(repo, tmp_path / "clone")
    assert prod["provenance"]["experiment"] == "narrow-c"  # the last one registered, at HEAD
    assert prod["release"]["version"] == registered["narrow-c"] and prod["release"]["stage"] == "prod"
    assert prod["release"]["commit"] == sh(["git", "rev-parse", "HEAD"], repo).strip()
    assert prod["metrics"]["p@10"] == json.loads((repo / "metrics/evaluate.json").read_text())["p@10"]

    sh(["gto", "assign", "arxiv-embed", "--version", registered["wide-c"], "--stage", "prod"], repo)  # rollback
    rolled_back = fetch_prod(repo, tmp_path / "clone")
    assert rolled_back["provenance"]["experiment"] == "wide-c"
    assert rolled_back["release"]["version"] == registered["wide-c"]
    assert rolled_back["version"] != prod["version"]  # another classifier: other files

    served = load_bundle(tmp_path / "clone/build/bundle")
    with TestClient(create_app(served, Settings(models_dir=str(tmp_path / "clone/build/bundle")))) as client:
        ready = client.get("/ready").json()
    assert ready["release"]["version"] == registered["wide-c"] and ready["provenance"]["experiment"] == "wide-c"
    assert ready["bundle_version"] == rolled_back["version"] and ready["metrics"] == rolled_back["metrics"]


def test_dvc_shows_the_dvclive_metrics_and_overlays_two_versions_loss_curves(registry) -> None:
    repo, registered = registry
    shown = json.loads(sh(["dvc", "exp", "show", "--json"], repo))[0]["data"]["metrics"]
    assert shown["dvclive/finetune/metrics.json"]["data"]["loss"] > 0
    assert shown["dvclive/evaluate/metrics.json"]["data"]["p@10"] == shown["metrics/evaluate.json"]["data"]["p@10"]
    tags = [f"arxiv-embed@{registered[name]}" for name in EXPERIMENTS]
    loss = "dvclive/finetune/plots/metrics/loss.tsv"
    plots = json.loads(sh(["dvc", "plots", "diff", *tags, "--targets", loss, "--json"], repo))["data"][loss][0]
    assert plots["revisions"] == tags and {p["rev"] for p in plots["content"]["data"]["values"]} == set(tags)


def test_an_unassigned_stage_fails_in_one_line(registry, tmp_path: Path) -> None:
    repo, _ = registry
    out = run(
        ["python", "-m", "tools.fetch_bundle", "--stage", "staging", "-o", str(tmp_path / "b")], repo, check=False
    )
    assert out.returncode != 0 and out.stderr.strip().startswith("error: cannot fetch arxiv-embed stage 'staging'")
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()


@pytest.mark.docker
def test_make_container_serves_the_prod_version(registry, tmp_path: Path) -> None:
    """docs/production.md, command 3: `make container STAGE=prod` builds the image of prod's bundle and runs it."""
    if not docker_ready():
        if os.environ.get("CI") == "true":
            pytest.fail("no Docker engine answers (`.ci/run` installs and starts one)")
        pytest.skip("no Docker engine answers")
    repo, registered = registry
    # --force: GTO itself may still count the version in prod when its earlier assignment came in the same second
    # as the rollback; the fetch resolves by the latest assignment tag
    sh(["gto", "assign", "arxiv-embed", "--version", registered["narrow-c"], "--stage", "prod", "--force"], repo)
    name, port = f"arxiv-embed-{uuid.uuid4().hex[:8]}", free_port()
    base = os.environ.get("ARXIV_EMBED_BASE_IMAGE")
    build_args = f"--network host{f' --build-arg BASE_IMAGE={base}' if base else ''}"
    make = [*CONTAINER.split(), SET_UP, f"IMAGE={name}", f"PORT={port}", f"DOCKER_BUILD_ARGS={build_args}"]
    try:
        sh(make, repo)
        wait_for_http(f"http://127.0.0.1:{port}/ready", 120, lambda: None)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10).json()
        assert ready["release"]["version"] == registered["narrow-c"] and ready["release"]["stage"] == "prod"
        assert ready["provenance"]["experiment"] == "narrow-c"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", f"{name}:prod"], capture_output=True)
