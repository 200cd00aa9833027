"""Fetch a registered bundle from the DVC remote: the version a GTO stage points at, or a version by name.

    python -m tools.fetch_bundle --stage prod -o build/bundle      # what `make image STAGE=prod` serves
    python -m tools.fetch_bundle --version v0.2.0 -o build/bundle

The stage resolves as `dvc artifacts get --stage` resolves it (the latest assignment wins, so a rollback is one
`gto assign`); the bundle of that version is downloaded from the repository's DVC remote. `release.json` beside
it names the version, the stage and the commit, and /ready returns them. The output folder is replaced only once
the download is whole.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dvc.api
import gto.api
from dvc.exceptions import DvcException
from dvc.repo.artifacts import Artifacts
from gto.exceptions import GTOException

from arxiv_embed.atomic import atomic_path, write_json
from arxiv_embed.layout import ModelFolders

ARTIFACT = "arxiv-embed"  # dvc.yaml's `artifacts:` entry for models/bundle


def registered_version(repo: str, commit: str) -> str:
    """The newest version of ARTIFACT registered at `commit`."""
    for version in gto.api.show(repo, ARTIFACT, table=False):  # newest first
        if version["commit_hexsha"] == commit and version["registrations"]:
            return version["version"]
    raise SystemExit(f"error: no version of {ARTIFACT} is registered at {commit[:12]}: gto register {ARTIFACT}")


def fetch(repo: str, out: Path, stage: str | None = None, version: str | None = None) -> dict:
    """Download the bundle of `version` (or of the version in `stage`) into `out`; return its release record."""
    try:
        commit = dvc.api.artifacts_show(ARTIFACT, version=version, stage=stage, repo=repo)["rev"]
        version = version or registered_version(repo, commit)
        with atomic_path(out, is_dir=True) as tmp:
            tmp.rmdir()  # DVC downloads a folder into an existing one, not onto it
            Artifacts.get(repo, ARTIFACT, version=version, out=str(tmp))
            release = {"artifact": ARTIFACT, "version": version, "stage": stage, "commit": commit}
            write_json(ModelFolders(tmp).release, release)
    except (DvcException, GTOException) as err:
        wanted = f"stage {stage!r}" if stage else f"version {version!r}"
        raise SystemExit(f"error: cannot fetch {ARTIFACT} {wanted} from {repo}: {err}") from None
    return release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage", help="a stage of .gto, e.g. prod")
    which.add_argument("--version", help="a registered version, e.g. v0.2.0")
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--repo", default=".", help="the git repository holding the registry (path or URL)")
    opts = parser.parse_args()
    release = fetch(opts.repo, opts.out, opts.stage, opts.version)
    print(f"fetched {ARTIFACT} {release['version']} ({release['commit'][:12]}) into {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
