"""The files a pipeline run rewrites (params.yaml, dvc.lock, metrics/, dvclive/, harvest.yaml), read from the
workspace or as the last commit holds them.

`make repro-sample`, `dvc exp run` and `make update` leave their own params and measurements in the workspace
(and `dvc exp run` may stage them). The checks that generated pages and params match the committed files read
these from the last commit, so a user's own run never turns the suite red; the generator itself renders the
workspace's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol

from arxiv_embed.layout import LAYOUT

ROOT = Path(__file__).resolve().parents[1]
RUN_OUTPUTS = ("params.yaml", "dvc.lock", f"{LAYOUT.metrics}/", f"{LAYOUT.dvclive}/", str(LAYOUT.harvest_state))


class Files(Protocol):
    def text(self, name: str) -> str | None:
        """A file's text by its path relative to the repository; None when there is no such file."""

    def names(self, folder: str, suffix: str) -> list[str]:
        """The files directly in `folder` whose names end with `suffix`, sorted."""


class Workspace:
    """The files as they are on disk."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root

    def text(self, name: str) -> str | None:
        path = self.root / name
        return path.read_text() if path.is_file() else None

    def names(self, folder: str, suffix: str) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in (self.root / folder).glob(f"*{suffix}") if p.is_file())


class LastCommit:
    """The files as the last commit (HEAD) holds them."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.root, capture_output=True)

    def content(self, name: str) -> bytes | None:
        """A file's bytes (a plot is a PNG) as the last commit holds them; None when it holds no such file."""
        proc = self._git("show", f"HEAD:{name}")
        return proc.stdout if proc.returncode == 0 else None

    def text(self, name: str) -> str | None:
        found = self.content(name)
        return None if found is None else found.decode()

    def names(self, folder: str, suffix: str) -> list[str]:
        listed = self._git("ls-tree", "--name-only", "HEAD", f"{folder.rstrip('/')}/").stdout.decode().split()
        return sorted(n for n in listed if n.endswith(suffix))
