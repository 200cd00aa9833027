"""Servers on loopback for the tests, the benchmarks and the quickstart: a free port, a process started on it,
and a wait for it to answer that gives up at a deadline or as soon as the process dies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, still_starting: Callable[[], str | None]) -> None:
    """Poll `url` until it answers 200; `still_starting()` returns a reason to give up early (process died)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        problem = still_starting()
        if problem or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up: {problem or f'no answer in {timeout:.0f} s'}")
        time.sleep(0.3)


def start_process(
    command: list[str], env: dict[str, str], port: int, ready_path: str, cwd: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """Start a server process that will listen on loopback `port`, and wait until `ready_path` answers."""
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"

    def died() -> str | None:
        return None if proc.poll() is None else f"exited: {proc.stderr.read().decode()[-2000:]}"

    try:
        wait_for_http(f"{url}{ready_path}", 300, died)
    except RuntimeError as err:
        proc.kill()
        raise SystemExit(f"error: {' '.join(command)}: {err}") from None
    return proc, url


def start_server(args: list[str], models_dir: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start this project's server (or the baseline) on a free loopback port and wait until it answers."""
    port = free_port()
    env = {**os.environ, "ARXIV_EMBED_MODELS_DIR": str(models_dir), "HOST": "127.0.0.1", "PORT": str(port)}
    env.update(env_extra)
    return start_process([sys.executable, *args], env, port, "/openapi.json")
