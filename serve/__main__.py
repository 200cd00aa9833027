"""`python -m serve`: verify the bundle first (one clear line and exit 1 if it is wrong), then serve it."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import uvicorn

from arxiv_embed.bundle import BundleError, load_bundle
from serve.app import create_app
from serve.settings import settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        bundle = load_bundle(settings.models_dir, settings.onnx_variant, settings.threads, settings.max_tokens)
    except BundleError as err:
        print(f"error: cannot serve: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8000"))
    pid_file = Path(settings.pid_file) if settings.pid_file else None
    if pid_file:
        pid_file.write_text(f"{os.getpid()}\n")
    try:
        uvicorn.run(create_app(bundle), host=host, port=port, log_level="info", access_log=False)
    finally:
        if pid_file:
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
