"""A failure while writing leaves the previous output whole and no temporary files behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from arxiv_embed.atomic import atomic_path, write_json


def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("killed")
    assert target.read_text().strip().endswith("}") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_directory_is_swapped_whole(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_path(target, is_dir=True) as tmp:
        (tmp / "b").write_text("2")
        raise RuntimeError("killed")
    assert sorted(p.name for p in target.iterdir()) == ["a"]
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_leftovers_of_a_killed_write_go_with_the_next_write(tmp_path: Path) -> None:
    """kill -9 skips the cleanup above: the next write of the same output removes what it left."""
    (tmp_path / ".model.tmp-abc123").mkdir()
    (tmp_path / ".model.tmp-abc123" / "half.onnx").write_bytes(b"\0" * 10)
    (tmp_path / ".model.old-4242").mkdir()
    (tmp_path / ".other.tmp-x").write_text("not ours")
    with atomic_path(tmp_path / "model", is_dir=True) as tmp:
        (tmp / "whole.onnx").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-x", "model"]
