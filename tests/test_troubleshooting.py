"""The troubleshooting page quotes each error as the code prints it: every command here fails the way the page
says, and the page holds the line it printed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, committed_params, run
from tools.check_platform import problem

PAGE = ROOT / "docs" / "troubleshooting.md"


def with_params(folder: Path, section: str, **values) -> Path:
    params = committed_params()
    params[section].update(values)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    return folder


CASES = {
    "no bundle": ([sys.executable, "-m", "serve"], {"ARXIV_EMBED_MODELS_DIR": "models/bundle"}, None),
    "offline quickstart": ([sys.executable, "-m", "tools.quickstart"], {"HF_HUB_OFFLINE": "1"}, None),
    "offline download": ([sys.executable, "-m", "stages.download"], {"HF_HUB_OFFLINE": "1"}, ("data", {})),
    "cuda without a GPU": ([sys.executable, "-m", "stages.finetune"], {}, ("train", {"device": "cuda"})),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_page_quotes_the_error_as_printed(case: str, tmp_path: Path) -> None:
    command, env, params = CASES[case]
    if params:
        with_params(tmp_path, params[0], **params[1])
        (tmp_path / "sources").symlink_to(ROOT / "sources")
    proc = run(command, tmp_path, check=False, env={"PYTHONPATH": str(ROOT), **env}, timeout=300)
    line = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and line in PAGE.read_text(), proc.stderr[-2000:]


def test_the_page_quotes_the_platform_check() -> None:
    assert problem((3, 12), "linux", "x86_64") in PAGE.read_text()
