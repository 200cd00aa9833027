"""Stage recommend: which method ranks new papers best for a reader's library, chosen on val, reported on test.

Simulated readers keep train papers of one to three categories (`arxiv_embed.evaluation.reader_simulation`); the
registry's methods and arxiv-sanity-lite's TF-IDF SVM rank val papers (to choose the served method), the test
papers, and the newest test papers alone (as the daily feed does). The served vectors are the adapted ones.
`recommend.test_readers: 0` skips the two test reports: choosing the method needs val alone.
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.text import TextConfig
from arxiv_embed.evaluation.reader_simulation import MatrixPool, Simulation, best_method, newest, simulate
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import cpu_isa
from arxiv_embed.recommend.spec import RecommendConfig, RecommendSpec
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    recommend: RecommendConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, features = params.recommend, TfidfFeatures.load(LAYOUT.models.classifier)
    pools = {
        name: MatrixPool.of(split_vectors(LAYOUT.adapted_split(name), LAYOUT.split(name)), features, params.text.field)
        for name in ("train", "val", "test")
    }
    ids = split_vectors(LAYOUT.adapted_split("test"), LAYOUT.split("test")).ids
    sim = Simulation(cfg.library_sizes, cfg.interests, cfg.val_readers, cfg.negatives, cfg.seed)
    chosen, val_p10 = best_method(simulate(pools["train"], pools["val"], cfg.ranking, sim))
    test, daily = [], []
    if cfg.test_readers:
        test_sim = Simulation(cfg.library_sizes, cfg.interests, cfg.test_readers, cfg.negatives, cfg.seed)
        test = simulate(pools["train"], pools["test"], cfg.ranking, test_sim)
        daily = simulate(pools["train"], pools["test"].subset(newest(ids, cfg.daily_papers)), cfg.ranking, test_sim)
    with atomic_path(LAYOUT.models.recommend, is_dir=True) as tmp:
        RecommendSpec.of(chosen, cfg, val_p10).save(tmp)
    curve = [
        {"library": r["library"], "interests": r["interests"], "method": m, "p@10": v["p@10"]}
        for r in test
        for m, v in r.items()
        if isinstance(v, dict)
    ]
    with atomic_path(LAYOUT.plot("recommend")) as tmp:
        pd.DataFrame(curve, columns=["library", "interests", "method", "p@10"]).to_csv(tmp, index=False)
    return {"default_method": chosen, "val_p@10": val_p10, "test": test, "daily": daily, "cpu": cpu_isa()}


if __name__ == "__main__":
    run_stage("recommend", main, Params)
