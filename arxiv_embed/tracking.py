"""DVCLive inside the pipeline: each stage that logs has a folder of its own, declared as its outs in dvc.yaml.

DVCLive writes metrics.json (what `dvc exp show` lists) and plots/ (what `dvc plots diff` overlays) there. The
stage's outs are dvc.yaml's to declare, so DVCLive writes no dvc.yaml, no report and saves no experiment itself:
`dvc exp run` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dvclive import Live


def dvclive_logger(folder: Path) -> Live:
    """A DVCLive logger over `folder` (emptied first) for one pipeline stage.

    DVCLive (and DVC under it) is imported here, when a stage logs: training code that logs nowhere, such as the
    GPU benchmark on a machine with only the training stack, runs without it.
    """
    from dvclive import Live

    return Live(str(folder), dvcyaml=None, save_dvc_exp=False, report=None)
