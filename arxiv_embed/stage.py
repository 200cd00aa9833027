"""The common wrapper of every stage script: typed params, logging, one-line errors, and wall time in its metrics."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from arxiv_embed.atomic import write_json
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import LAYOUT
from arxiv_embed.params import load_params, read_stage_params

P = TypeVar("P")


def run_stage(name: str, main: Callable[[P], dict[str, Any] | None], schema: type[P]) -> None:
    """Parse the sections `schema` declares, run `main` on them, write its metrics plus `seconds` to
    metrics/<name>.json; errors (a bad param among them) become one line and exit status 1.

    `main` returns None on the torchrun ranks that must not write (all but rank 0).
    """
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    start = time.perf_counter()
    try:
        metrics = main(read_stage_params(load_params(), schema))
    except PipelineError as err:
        print(f"error: {name}: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    if metrics is None:
        return
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    write_json(LAYOUT.stage_metrics(name), metrics)
    logging.getLogger(name).info("done in %.1fs", metrics["seconds"])
