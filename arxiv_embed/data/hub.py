"""Whether the Hugging Face hub can be reached, asked once per process and fast when offline."""

from __future__ import annotations

import os
import socket
from functools import cache


@cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """True when huggingface.co answers on 443; False offline or with HF_HUB_OFFLINE=1."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
    except OSError:
        return False
    return True
