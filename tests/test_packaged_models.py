"""Base models from PyPI when the hub is out of reach: a split archive is joined, checked and unpacked once,
whole or not at all, and a missing package is one line saying how to install it."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from pathlib import Path

import pytest

from arxiv_embed.errors import PipelineError
from arxiv_embed.train.packaged_models import (
    MPNET_PARTS,
    PACKAGED_COPIES,
    SplitArchive,
    cache_dir,
    unpack_split_archive,
)


def split_archive(folder: Path, parts: int = 3) -> tuple[list[Path], str]:
    """A zip of a model folder cut into `parts` files, and the joined archive's SHA-256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("model/config.json", '{"model_type": "mpnet"}')
        zf.writestr("model/weights.bin", bytes(range(256)) * 400)
    data = buffer.getvalue()
    cut = -(-len(data) // parts)
    paths = []
    for i in range(parts):
        paths.append(folder / f"model.zip.{i + 1:03d}")
        paths[-1].write_bytes(data[i * cut : (i + 1) * cut])
    return paths, hashlib.sha256(data).hexdigest()


def test_parts_join_into_the_model_folder_once(tmp_path: Path) -> None:
    parts, sha = split_archive(tmp_path)
    target = tmp_path / "cache" / sha[:16]
    unpack_split_archive(parts, sha, target)
    assert (target / "model/config.json").read_text() == '{"model_type": "mpnet"}'
    assert sorted(p.name for p in target.parent.iterdir()) == [sha[:16]]  # no archive or temporary folder left
    unpack_split_archive(parts, sha, target)  # another process that finished second keeps the first's folder
    assert (target / "model/weights.bin").stat().st_size == 256 * 400


def test_concurrent_unpacks_leave_one_whole_folder(tmp_path: Path) -> None:
    parts, sha = split_archive(tmp_path)
    target = tmp_path / "cache" / sha[:16]
    threads = [threading.Thread(target=unpack_split_archive, args=(parts, sha, target)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (target / "model/weights.bin").stat().st_size == 256 * 400
    assert sorted(p.name for p in target.parent.iterdir()) == [sha[:16]]


def test_parts_joined_in_the_wrong_order_unpack_nothing(tmp_path: Path) -> None:
    parts, sha = split_archive(tmp_path)
    target = tmp_path / "cache" / "model"
    with pytest.raises(PipelineError, match=r"joined parts of model have SHA-256 \w+, not " + sha):
        unpack_split_archive(parts[::-1], sha, target)
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_a_missing_part_package_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ARXIV_EMBED_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    missing = SplitArchive(("arxiv-embed-no-such-part-001",), sha256="0" * 64, folder="m", install="make setup-x")
    with pytest.raises(PipelineError, match=r"^arxiv-embed-no-such-part-001 is not installed: make setup-x$"):
        missing.locate()
    mpnet = PACKAGED_COPIES["sentence-transformers/all-mpnet-base-v2"]
    assert mpnet.distributions == MPNET_PARTS and "make setup-mpnet" in mpnet.install
    locked = (Path(__file__).parents[1] / "requirements/mpnet.txt").read_text()
    assert all(f"\n{name}==0.0.1 \\\n    --hash=sha256:" in locked for name in MPNET_PARTS)
    assert "aait" not in locked.lower()  # the parts are installed without the dependency the first one declares
