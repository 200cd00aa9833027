"""`python -m serve`: verify the bundle first (one clear line and exit 1 if it is wrong), then serve it."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from arxiv_embed.bundle import BundleError
from serve.app import create_app
from serve.settings import settings
from serve.state import load_served


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        bundle = load_served(settings)
    except BundleError as err:
        print(f"error: cannot serve: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    with kept_pid(Path(settings.pid_file) if settings.pid_file else None):
        uvicorn.run(create_app(bundle), host=host, port=port, log_level="info", access_log=False)


@contextmanager
def kept_pid(path: Path | None) -> Iterator[None]:
    """This process's pid in `path` while it serves (`make update` signals it), removed however it stops:
    uvicorn re-raises SIGTERM once drained, so the removal also runs in a SIGTERM handler that then dies of it."""
    if path is None:
        yield
        return

    def remove_then_die(signum: int, _frame: object) -> None:
        path.unlink(missing_ok=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    path.write_text(f"{os.getpid()}\n")
    signal.signal(signal.SIGTERM, remove_then_die)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
