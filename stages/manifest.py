"""Stage manifest: tie the served artifacts together with content hashes, so the server can verify them."""

from arxiv_embed.atomic import write_json
from arxiv_embed.bundle import MANIFEST_FILE, make_manifest
from arxiv_embed.layout import MODELS_DIR
from arxiv_embed.stage import run_stage


def main(params: dict) -> dict:
    manifest = make_manifest(MODELS_DIR, params["embed"]["onnx_variant"])
    write_json(MODELS_DIR / MANIFEST_FILE, manifest)
    return {"index_size": manifest["index_size"], "dim": manifest["dim"], "onnx_variant": manifest["onnx_variant"]}


if __name__ == "__main__":
    run_stage("manifest", main)
