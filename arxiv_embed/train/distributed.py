"""Where this process sits in a torchrun job, read from the environment torchrun sets (1 process without it)."""

from __future__ import annotations

import os


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Rank 0 alone writes outs and metrics, so N processes leave what one process would."""
    return int(os.environ.get("RANK", "0")) == 0
