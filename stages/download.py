"""Stage download: read the configured source into data/raw/papers.parquet with canonical columns."""

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import RAW_PAPERS
from arxiv_embed.schema import COLUMNS
from arxiv_embed.sources import OFFLINE_FIX, read_papers
from arxiv_embed.stage import run_stage


def main(params: dict) -> dict:
    data = params["data"]
    papers, skipped = read_papers(data["source"], data.get("max_papers"))
    if not papers:
        raise PipelineError(f"no valid papers in {data['source']}; point to another source with {OFFLINE_FIX}")
    with atomic_path(RAW_PAPERS) as tmp:
        pd.DataFrame(papers, columns=COLUMNS).to_parquet(tmp, index=False)
    return {"papers": len(papers), "skipped": sum(skipped.values()), "skipped_by_reason": dict(skipped)}


if __name__ == "__main__":
    run_stage("data", main)
