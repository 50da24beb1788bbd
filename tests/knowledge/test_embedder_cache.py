"""The embedder's cache file: used when intact, rebuilt (the damaged one moved aside) when not,
and the cached model embeds and tokenizes exactly like the one loaded from the wheel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mltutor.knowledge import embedder_cache, embedding
from mltutor.knowledge.arrayfile import ArrayFileCorrupt, read_array_file, write_array_file
from mltutor.knowledge.embedder_cache import cache_path, load_model, same_model

GRADING_SET = (
    Path(__file__).resolve().parents[2] / "src" / "mltutor" / "evals" / "data" / "grading.jsonl"
)


def _texts() -> list[str]:
    """Questions and answers of the grading set (EN and RU, formulas) plus awkward strings."""
    texts: list[str] = []
    for line in GRADING_SET.read_text(encoding="utf-8").splitlines()[:20]:
        row = json.loads(line)
        texts += [row["question"], *(a["text"] for a in row["answers"])]
    texts += ["", "   ", "\ufffd", "Ёлка и ёж", "x² + ∂L/∂w = σ(z)(1−σ(z))", "word " * 400]
    return texts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A cache dir whose file was built once from the wheel, and the wheel's model."""
    folder = tmp_path_factory.mktemp("embedder")
    loaded = load_model(1, folder)
    assert loaded.source == "built", loaded.note
    assert cache_path(folder).is_file()
    return folder, loaded.model


def test_second_load_uses_the_cache_and_restores_the_same_model(built: tuple[Path, Any]) -> None:
    folder, wheel = built
    cached = load_model(1, folder)
    assert cached.source == "cache" and cached.note == ""
    assert same_model(wheel, cached.model)
    texts = _texts()
    assert [cached.model._sp.encode(t) for t in texts] == [wheel._sp.encode(t) for t in texts]
    a, b = cached.model.encode(texts), wheel.encode(texts)
    assert a.dtype == b.dtype and np.array_equal(a, b)  # bit for bit, not just close


def test_same_model_sees_a_changed_weight(built: tuple[Path, Any]) -> None:
    folder, wheel = built
    cached = load_model(1, folder).model
    cached._backend.d3 = cached._backend.d3.copy()
    cached._backend.d3[0, 0] += 1e-3
    assert not same_model(wheel, cached)


def test_a_damaged_file_is_moved_aside_and_rebuilt(built: tuple[Path, Any], tmp_path: Path) -> None:
    folder, wheel = built
    path = cache_path(tmp_path)
    shutil.copyfile(cache_path(folder), path)
    data = bytearray(path.read_bytes())
    data[-1000] ^= 0x01  # one bit in the weights: only the checksum can tell
    path.write_bytes(bytes(data))
    with pytest.raises(ArrayFileCorrupt, match="CRC-32"):
        read_array_file(path)
    again = load_model(1, tmp_path)
    assert again.source == "built" and "moved to" in again.note
    asides = list(tmp_path.glob(f"{path.name}.unreadable-*"))
    assert len(asides) == 1 and asides[0].read_bytes() == bytes(data)
    assert same_model(wheel, again.model)
    assert load_model(1, tmp_path).source == "cache"


def test_an_unreadable_path_is_not_trusted_and_leaves_no_litter(tmp_path: Path) -> None:
    path = cache_path(tmp_path)
    path.mkdir(parents=True)  # cannot be opened as a file, moved over a file, or replaced
    loaded = load_model(1, tmp_path)
    assert loaded.source == "wheel" and "cannot be read" in loaded.note
    assert loaded.model.encode(["hello"]).shape == (1, 512)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_stale_file_is_rebuilt_without_an_aside(built: tuple[Path, Any], tmp_path: Path) -> None:
    folder, _ = built
    arrays, meta = read_array_file(cache_path(folder))
    meta["sources"]["sp.model"].update(sha256="0" * 64, mtime_ns=0)  # another sp.model
    write_array_file(cache_path(tmp_path), arrays, meta)
    assert load_model(1, tmp_path).source == "built"
    assert not list(tmp_path.glob("*.unreadable-*"))
    assert load_model(1, tmp_path).source == "cache"


def test_a_touched_source_with_the_same_content_is_still_fresh(
    built: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = built
    resources = tmp_path / "resources"
    shutil.copytree(embedder_cache._resources(), resources)
    monkeypatch.setattr(embedder_cache, "_resources", lambda: resources)
    _, meta = read_array_file(cache_path(folder))
    assert embedder_cache._fresh(meta, resources)  # size and time differ: hashed, same content
    with open(resources / "sp.model", "ab") as f:
        f.write(b"\0")
    assert not embedder_cache._fresh(meta, resources)


def test_no_cache_dir_loads_from_the_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(embedding.CACHE_ENV, "off")
    assert embedding.model_cache_dir() is None
    monkeypatch.setenv(embedding.CACHE_ENV, str(tmp_path / "here"))
    assert embedding.model_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(embedding.CACHE_ENV)
    monkeypatch.setenv("MLTUTOR_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setattr(embedding, "_cache_dir", [])
    assert embedding.model_cache_dir() == tmp_path / "c" / "embedder"
    embedding.use_cache_dir(tmp_path / "s")
    assert embedding.model_cache_dir() == tmp_path / "s" / "embedder"


# -- the file format ---------------------------------------------------------------------------


def _sample(path: Path) -> dict[str, Any]:
    arrays = {
        "a": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.frombuffer("héllo\0мир".encode(), dtype=np.uint8),
        "empty": np.zeros((0, 5), dtype=np.int64),
        "scalar": np.array(2.5),
    }
    write_array_file(path, arrays, {"k": [1, "x"]})
    return arrays


def test_array_file_round_trip(tmp_path: Path) -> None:
    arrays = _sample(tmp_path / "f")
    back, meta = read_array_file(tmp_path / "f")
    assert meta == {"k": [1, "x"]}
    for name, a in arrays.items():
        assert back[name].dtype == a.dtype and np.array_equal(back[name], a)
        assert back[name].ctypes.data % 64 == 0
    with pytest.raises(ValueError, match="read-only"):
        back["a"][0, 0] = 1.0


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:-1],  # truncated
        lambda d: b"",  # empty
        lambda d: b"PK\x03\x04" + d[4:],  # not ours
        lambda d: d[:16] + b"[" + d[17:],  # header not JSON
        lambda d: d + b"\0",  # longer than the header says
    ],
)
def test_array_file_damage_is_detected(tmp_path: Path, damage: Any) -> None:
    _sample(tmp_path / "f")
    (tmp_path / "f").write_bytes(damage((tmp_path / "f").read_bytes()))
    with pytest.raises(ArrayFileCorrupt):
        read_array_file(tmp_path / "f")


def test_array_file_refuses_objects(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="plain numeric"):
        write_array_file(tmp_path / "f", {"o": np.array([{"a": 1}], dtype=object)}, {})
    assert not (tmp_path / "f").exists()
