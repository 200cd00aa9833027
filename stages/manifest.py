"""Stage manifest: tie the served artifacts together with content hashes, so the server can verify them."""

import json
from dataclasses import dataclass

from arxiv_embed.bundle import make_manifest
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    """No params: the manifest describes what the earlier stages made (the corpus's encoder included)."""


def main(params: Params) -> dict:
    onnx_variant = json.loads(LAYOUT.embedded_with.read_text())["onnx_variant"]
    manifest = make_manifest(LAYOUT.models, onnx_variant)
    manifest.write(LAYOUT.models.manifest)
    return {"index_size": manifest.index_size, "dim": manifest.dim, "onnx_variant": manifest.onnx_variant}


if __name__ == "__main__":
    run_stage("manifest", main, Params)
