"""Stage recommend: which method ranks new papers best for a reader's library, chosen on val, reported on test.

Simulated readers keep train papers of one to three categories (`arxiv_embed.evaluation.reader_simulation`); the
registry's methods and arxiv-sanity-lite's TF-IDF SVM rank val papers (to choose the served method, overall and
per library shape), the test
papers, and the newest test papers alone (as the daily feed does). The served vectors are the adapted ones.
`recommend.test_readers: 0` skips the two test reports: choosing the method needs val alone.
"""

from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.text import TextConfig
from arxiv_embed.evaluation import reader_simulation as readers
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
        name: readers.MatrixPool.of(
            split_vectors(LAYOUT.adapted_split(name), LAYOUT.split(name)), features, params.text.field
        )
        for name in ("train", "val", "test")
    }
    ids = split_vectors(LAYOUT.adapted_split("test"), LAYOUT.split("test")).ids
    sim = readers.Simulation(cfg.library_sizes, cfg.interests, cfg.val_readers, cfg.negatives, cfg.seed)
    val = readers.simulate(pools["train"], pools["val"], cfg.ranking, sim)
    chosen, val_p10 = readers.best_method(val)
    spec = RecommendSpec.of(chosen, cfg, val_p10, readers.best_by_shape(val, chosen))
    test, daily = [], []
    if cfg.test_readers:
        test_sim = readers.Simulation(cfg.library_sizes, cfg.interests, cfg.test_readers, cfg.negatives, cfg.seed)
        test = readers.served_by_shape(readers.simulate(pools["train"], pools["test"], cfg.ranking, test_sim), spec)
        daily = readers.simulate(
            pools["train"], pools["test"].subset(readers.newest(ids, cfg.daily_papers)), cfg.ranking, test_sim
        )
    with atomic_path(LAYOUT.models.recommend, is_dir=True) as tmp:
        spec.save(tmp)
    with atomic_path(LAYOUT.plot("recommend")) as tmp:
        readers.p10_curve(test).to_csv(tmp, index=False)
    by_shape = [c.model_dump() for c in spec.by_shape]
    return {"default_method": chosen, "val_p@10": val_p10, "by_shape": by_shape, "test": test, "daily": daily} | {
        "cpu": cpu_isa()
    }


if __name__ == "__main__":
    run_stage("recommend", main, Params)
