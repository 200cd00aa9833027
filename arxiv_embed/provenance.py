"""Where a served bundle came from: the git commit and DVC experiment of the run that built it.

`dvc exp run` tells its stages the experiment's name and baseline commit (DVC_EXP_NAME, DVC_EXP_BASELINE_REV,
the variables DVCLive reads too); a plain `dvc repro` runs on the checked-out commit and names no experiment.
A stage restored from DVC's run cache keeps the provenance of the run that first built it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dvc.env import DVC_EXP_BASELINE_REV, DVC_EXP_NAME
from scmrepo.exceptions import SCMError
from scmrepo.git import Git


def build_provenance(root: str | os.PathLike = ".") -> dict[str, Any]:
    """{git_commit, git_dirty, experiment}; commit and dirty are None outside a git repository."""
    commit, dirty = os.environ.get(DVC_EXP_BASELINE_REV), None
    try:
        with Git(Path(root)) as scm:
            commit = commit or scm.get_rev()
            dirty = scm.is_dirty(untracked_files=False)  # an experiment's params differ from its baseline's
    except SCMError:
        pass
    return {"git_commit": commit, "git_dirty": dirty, "experiment": os.environ.get(DVC_EXP_NAME)}
