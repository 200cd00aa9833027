"""The API contract: schemathesis generates requests from /openapi.json against the real server process.

Every constraint the server enforces is declared in the schema and every status it answers is documented, so
all of schemathesis's checks (conformance, undocumented statuses, server errors, ...) must pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run
from tools.processes import start_server

pytestmark = pytest.mark.e2e
MAX_EXAMPLES = 30  # per operation and phase: about 350 requests, 10 s
CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_no_contract_failure(pipeline_repo: Path, tmp_path: Path) -> None:
    data = {"ARXIV_EMBED_DATA_DIR": str(tmp_path / "data")}  # the saved libraries' routes are on
    proc, url = start_server(["-m", "serve"], pipeline_repo / "models/bundle", data)
    try:
        result = run(
            [
                "schemathesis",
                "--config-file",
                str(CONFIG),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "1",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--no-color",
            ],
            tmp_path,  # schemathesis keeps a cache folder in its working directory
            check=False,
            timeout=600,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert result.returncode == 0 and counts and counts[1] == counts[2], result.stdout[-6000:]
    assert int(counts[1]) >= 7 * MAX_EXAMPLES  # every operation was exercised
