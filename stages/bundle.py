"""Stage bundle: the served files, their manifest, the run that built them and how they scored, in one folder.

models/bundle is one DVC out and the artifact `arxiv-embed` of dvc.yaml: what `gto register` versions,
`dvc artifacts get` fetches and the image serves. Its manifest is models/manifest.json (the files and their
hashes, which the evaluate stage loaded) plus `provenance` (git commit, experiment) and `metrics` (the headline
test numbers of metrics/evaluate.json, which must have evaluated these very files).
"""

import json
from dataclasses import dataclass

from arxiv_embed.bundle import BundleError, assemble_bundle
from arxiv_embed.layout import LAYOUT
from arxiv_embed.manifest import Manifest
from arxiv_embed.metrics import HEADLINE_METRICS
from arxiv_embed.provenance import build_provenance
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    """No params: the bundle is what the earlier stages made and measured."""


def main(params: Params) -> dict:
    models, eval_file = LAYOUT.models, LAYOUT.stage_metrics("evaluate")
    manifest = Manifest.read(models.manifest)
    evaluation = json.loads(eval_file.read_text())
    if evaluation.get("bundle_version") != manifest.version:
        raise BundleError(f"{eval_file} is of another bundle than {models.manifest}: run dvc repro")
    extra = {
        "provenance": build_provenance(),
        "metrics": {k: evaluation[k] for k in ("search_mode", *HEADLINE_METRICS, "queries")},
    }
    assemble_bundle(models, manifest, extra, LAYOUT.bundle)
    sizes = [(LAYOUT.bundle / name).stat().st_size for name in manifest.files]
    return {"version": manifest.version, "files": len(sizes), "megabytes": round(sum(sizes) / 1e6, 1)}


if __name__ == "__main__":
    run_stage("bundle", main, Params)
