"""A 2-D picture of embeddings (t-SNE), before and after fine-tuning, coloured by arXiv archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def archive(category: str) -> str:
    """'cs.LG' -> 'cs', 'astro-ph.GA' -> 'astro-ph', 'hep-th' -> 'hep-th'."""
    return category.split(".")[0]


def project(vectors: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(30.0, max(2.0, (len(vectors) - 1) / 3))
    return TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity, random_state=seed).fit_transform(
        vectors
    )


def draw_maps(panels: dict[str, np.ndarray], categories: list[str], path: Path, seed: int = 0) -> None:
    """One t-SNE scatter per panel (e.g. pretrained, fine-tuned), side by side, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archives = np.array([archive(c) for c in categories])
    names = sorted(set(archives))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(names), 2)))
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 6.5), squeeze=False)
    for ax, (title, vectors) in zip(axes[0], panels.items(), strict=True):
        points = project(vectors, seed)
        for name, colour in zip(names, colours, strict=False):
            mask = archives == name
            ax.scatter(points[mask, 0], points[mask, 1], s=7, color=colour, label=name, alpha=0.8)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=2)
    fig.suptitle("Test papers, t-SNE of their embeddings, coloured by arXiv archive")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)
