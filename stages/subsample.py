"""Stage subsample: clean, dedupe, cap per category and split into train/val/test."""

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.layout import METRICS_DIR, PROCESSED_DIR, RAW_PAPERS, split_path
from arxiv_embed.params import section
from arxiv_embed.stage import run_stage
from arxiv_embed.subsample import SubsampleConfig, cap_categories, category_counts, clean, stratified_split


def main(params: dict) -> dict:
    cfg = section(params, "subsample", SubsampleConfig)
    papers, dropped = clean(pd.read_parquet(RAW_PAPERS), cfg)
    papers, dropped["rare_category"] = cap_categories(papers, cfg)
    splits = stratified_split(papers, cfg)
    with atomic_path(PROCESSED_DIR, is_dir=True) as tmp:
        for name, df in splits.items():
            df.to_parquet(tmp / split_path(name).name, index=False)
    with atomic_path(METRICS_DIR / "category_counts.csv") as tmp:
        pd.DataFrame(category_counts(splits)).to_csv(tmp, index=False)
    return {
        "categories": int(papers["primary_category"].nunique()),
        **{f"{name}_papers": len(df) for name, df in splits.items()},
        "dropped": dropped,
    }


if __name__ == "__main__":
    run_stage("subsample", main)
