"""Every command that README.md and docs/ show runs as shown, or its block says why not (tools/doc_commands.py).

curl lines run through bash against the tiny run's server, make lines expand under `make -n`, `dvc exp run`
lines compose and validate their settings, and `python -m` tools take the options the line gives.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from dvc.utils.hydra import compose_and_dump, get_hydra_sweeps

from arxiv_embed.params import read_stage_params
from tests.conftest import ROOT, SET_UP, run
from tools.doc_commands import CHECKS, Command, blocks
from tools.processes import free_port
from tools.quickstart import start_server, stop

BLOCKS = blocks()
PAPER_ID = re.compile(r"\b(?!0000\.00000)\d{4}\.\d{4,5}\b")  # 0000.00000: the pages' unknown paper
SINCE = re.compile(r'"since": "\d{4}-\d{2}-\d{2}"')
PARAMS_OPTION = "-S"


def checked(*prefixes: str) -> list:
    commands = [c for b in BLOCKS for c in b.commands if c.check in prefixes]
    return [pytest.param(c, id=f"{c.page}: {c.line[:70]}") for c in commands]


def test_every_command_is_checked_or_its_block_says_why_not() -> None:
    unmarked = [f"{b.page}:{b.line_no}: {c.line}" for b in BLOCKS if not b.mark for c in b.unchecked]
    assert not unmarked, "mark these blocks <!-- not run here: REASON --> or check them:\n" + "\n".join(unmarked)
    idle = [f"{b.page}:{b.line_no}" for b in BLOCKS if b.mark and not b.unchecked]
    assert not idle, f"these blocks' marks cover no command: {idle}"


def test_every_kind_of_check_has_commands() -> None:
    assert {c.check for b in BLOCKS for c in b.commands} - {None} == set(CHECKS)


@pytest.mark.parametrize("command", checked("make "))
def test_make_lines_expand(command: Command) -> None:
    proc = run(["make", "-n", *command.words[1:], SET_UP], ROOT, check=False)
    assert proc.returncode == 0, proc.stderr


@functools.cache
def stage_schemas() -> dict[str, type]:
    """Each stage script's Params, by the module dvc.yaml runs."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    modules = {entry.get("do", entry)["cmd"].split(" -m ")[-1].split()[0] for entry in stages.values()}
    return {module: importlib.import_module(module).Params for module in sorted(modules)}


@pytest.mark.parametrize("command", checked("dvc exp run "))
def test_dvc_exp_run_settings_compose_and_every_stage_takes_them(command: Command, tmp_path: Path) -> None:
    words = command.words
    settings = [words[i + 1] for i, word in enumerate(words) if word == PARAMS_OPTION]
    for sweep in get_hydra_sweeps({"params.yaml": settings}):  # `a=1,2` is two runs
        out = tmp_path / "params.yaml"
        compose_and_dump(out, str(ROOT / "configs"), None, "config", "", sweep["params.yaml"])
        params = yaml.safe_load(out.read_text())
        for schema in stage_schemas().values():
            read_stage_params(params, schema)  # ParamError naming the key, as the stage would stop


@pytest.mark.parametrize("command", checked("python -m tools.", "python -m benchmarks."))
def test_python_modules_take_the_options_shown(command: Command) -> None:
    module, options = command.words[2], [w.split("=")[0] for w in command.words[3:] if w.startswith("--")]
    shown = run([sys.executable, "-m", module, "--help"], ROOT).stdout
    assert all(re.search(rf"{option}\b", shown) for option in options), (options, shown)


@pytest.fixture(scope="module")
def tiny_copy(pipeline_repo: Path, tmp_path_factory) -> Path:
    """A copy of the tiny run's repository, for commands that write beside what they read (dvc plots show)."""
    copy = tmp_path_factory.mktemp("pages") / "repo"
    shutil.copytree(pipeline_repo, copy, symlinks=True)
    return copy


@pytest.mark.e2e
@pytest.mark.parametrize("command", checked("dvc exp show", "dvc metrics diff", "dvc plots show"))
def test_dvc_commands_that_read_run_in_the_tiny_repository(command: Command, tiny_copy: Path) -> None:
    proc = run(command.words, tiny_copy, check=False)
    assert proc.returncode == 0, proc.stderr


@dataclass(frozen=True)
class Server:
    """The tiny run's bundle served on a loopback port; ids of its index for the pages' paper ids; a saved library
    of its own for the pages' library id, owner secret and feed token (tools.api_examples recorded those)."""

    port: int
    ids: list[str]
    library: dict[str, str]  # the pages' value: this server's


def library_credentials(saved: dict) -> dict[str, str]:
    """A saved library's id, owner secret and feed token, from POST /libraries's answer."""
    token = saved["feed_url"].rsplit("/feeds/", 1)[1].removesuffix(".atom")
    return {"id": saved["id"], "secret": saved["owner_secret"], "token": token}


@pytest.fixture(scope="module")
def server(pipeline_repo: Path, test_papers: pd.DataFrame, tmp_path_factory):
    port, ids = free_port(), test_papers["id"].tolist()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARXIV_EMBED_MODELS_DIR", str(pipeline_repo / "models/bundle"))
        patch.setenv("ARXIV_EMBED_DATA_DIR", str(tmp_path_factory.mktemp("libraries")))
        served = start_server(port)
    ours = httpx.post(f"http://127.0.0.1:{port}/libraries", json={"like": ids[:2], "k": 3}).json()
    pages = json.loads((ROOT / "metrics/api_examples.json").read_text())["library_save"]["answer"]
    mine, theirs = library_credentials(pages), library_credentials(ours)
    yield Server(port, ids, {mine[name]: theirs[name] for name in mine})
    stop(served)


def as_on_this_server(line: str, server: Server) -> str:
    """The printed line with this server's port, ids of the tiny index for the default run's paper ids, a `since`
    that the tiny index reaches (its papers are older than the default run's), and this server's saved library
    for the pages'."""
    seen: dict[str, str] = {}
    line = PAPER_ID.sub(lambda m: seen.setdefault(m.group(0), server.ids[len(seen)]), line)
    line = SINCE.sub('"since": "2000-01-01"', line)
    for printed, here in server.library.items():
        line = line.replace(printed, here)
    return line.replace("localhost:8000", f"localhost:{server.port}")


def shape(value) -> object:
    """What a page's answer promises: the keys of an object, and of the first item of each list in it."""
    if isinstance(value, dict):
        return {k: shape(v) if isinstance(v, list) else None for k, v in value.items()}
    if isinstance(value, list):
        return shape(value[0]) if value and isinstance(value[0], dict) else None
    return None


@pytest.mark.e2e
@pytest.mark.parametrize("command", checked("curl "))
def test_curl_lines_answer_as_the_page_shows(command: Command, server: Server) -> None:
    line = as_on_this_server(command.line, server).replace("curl -s ", "curl -s -w '\\n%{http_code}' ", 1)
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60).stdout
    body, status = out.rsplit("\n", 1)
    shown = command.shown
    assert int(status) == (shown.status if shown else 200), body
    if body.startswith("<?xml"):  # the Atom feed
        assert shown is None or (shown.lang == "xml" and ("<entry>" in body) == ("<entry>" in shown.text))
        return
    answer = json.loads(body)
    if shown:
        assert shape(answer) == shape(json.loads(shown.text))
    if "results" in answer:  # a page's example answers something (a `since` no bundle reaches would not)
        assert answer["results"], body
