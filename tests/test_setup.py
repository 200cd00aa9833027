"""`make setup` where pip knows no local wheel folder: the Makefile itself tells pip where torch's CPU build is
(TORCH_WHEELS), and an interpreter that cannot take the lock is told so in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run
from tools.check_platform import problem


def torch_only_lock(folder: Path) -> Path:
    """The lock's torch entry, the one pinned package that PyPI does not carry, and setuptools, which installs the
    project itself."""
    lock = (ROOT / "requirements/dev.txt").read_text()
    entries = [
        re.search(rf"^{name}==\S+ \\\n(?:    --hash=\S+(?: \\)?\n)+", lock, re.M) for name in ("torch", "setuptools")
    ]
    path = folder / "torch.txt"
    path.write_text("".join(entry.group(0) for entry in entries))
    return path


def setup(tmp_path: Path, name: str, wheels: str | None) -> tuple[Path, subprocess.CompletedProcess]:
    """`make setup` into a new venv with pip as on a machine prepared for nothing: no configuration file, no
    find-links from the environment; `wheels`, if any, only as TORCH_WHEELS."""
    venv = tmp_path / name
    args = ["make", "-s", "setup", f"VENV={venv}", f"LOCK={torch_only_lock(tmp_path)}", f"PYTHON={sys.executable}"]
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "TORCH_WHEELS")}
    env["PIP_CONFIG_FILE"] = os.devnull
    if wheels:
        env["TORCH_WHEELS"] = wheels
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return venv, proc


@pytest.mark.e2e  # a venv and an install
def test_setup_finds_the_cpu_build_of_torch_with_pip_configuration_off(tmp_path: Path) -> None:
    """Here the wheel lies in a folder (PIP_FIND_LINKS names it), handed over as TORCH_WHEELS only; elsewhere the
    Makefile's default, PyTorch's CPU wheel page. Without either, pip finds no `+cpu` build and setup fails."""
    venv, proc = setup(tmp_path, "venv", os.environ.get("PIP_FIND_LINKS"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    version = run(
        [str(venv / "bin/python"), "-c", "import importlib.metadata as m; print(m.version('torch'))"], tmp_path
    ).stdout
    assert version.strip() == re.search(r"^torch==(\S+)", torch_only_lock(tmp_path).read_text()).group(1)
    assert (venv / ".installed").is_file()

    empty = tmp_path / "no-wheels"
    empty.mkdir()
    _, proc = setup(tmp_path, "no-torch", str(empty))
    assert proc.returncode != 0 and "+cpu" in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize(
    ("version", "system", "machine", "message"),
    [
        ((3, 11), "linux", "x86_64", None),
        ((3, 12), "linux", "x86_64", "not Python 3.12 on linux x86_64"),
        ((3, 11), "darwin", "arm64", "not Python 3.11 on darwin arm64"),
    ],
)
def test_setup_names_an_interpreter_the_lock_does_not_fit(version, system, machine, message) -> None:
    found = problem(version, system, machine)
    assert found == message if message is None else message in found and "\n" not in found
