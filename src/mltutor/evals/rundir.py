"""A run directory on disk: ``manifest.json`` and the append-only ``cases.jsonl``.

Every finished case is one line, written with a single ``write`` and flushed to the disk
(``fsync``) before the next case is counted as done: a crash, Ctrl-C, SIGKILL or a dead server loses
at most the cases that were still running. A line cut short by a kill is ignored when the log is
read, and the next append starts on a fresh line.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from pydantic import ValidationError

from mltutor.evals.errors import RunError
from mltutor.evals.records import CaseRecord, Manifest

MANIFEST = "manifest.json"
LOG = "cases.jsonl"


class RunDir:
    """One run's directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.skipped_lines = 0
        """Lines of the log that could not be read (a write cut short by a kill)."""

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def log_path(self) -> Path:
        return self.path / LOG

    # -- manifest ------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, manifest: Manifest) -> RunDir:
        """Make the directory and write the manifest (atomically); refuses an existing run."""
        if (path / MANIFEST).exists():
            raise RunError(f"{path} already holds a run; resume it with --resume {path}")
        try:
            path.mkdir(parents=True, exist_ok=True)
            tmp = path / (MANIFEST + ".tmp")
            tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
            os.replace(tmp, path / MANIFEST)
            (path / LOG).touch()
        except OSError as exc:
            raise RunError(
                f"cannot create the run directory {path}: {exc.strerror or exc}"
            ) from exc
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run; a RunError naming the path when there is none."""
        if not (path / MANIFEST).is_file():
            raise RunError(
                f"{path} is not a run directory (no {MANIFEST}); runs are the directories "
                "`mltutor eval run` prints"
            )
        return cls(path)

    def manifest(self) -> Manifest:
        try:
            return Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            raise RunError(f"cannot read {self.manifest_path}: {exc}") from exc

    # -- the case log --------------------------------------------------------------------------

    def records(self) -> list[CaseRecord]:
        """Every readable record, in the order written."""
        out: list[CaseRecord] = []
        self.skipped_lines = 0
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return out
        except OSError as exc:
            raise RunError(f"cannot read {self.log_path}: {exc.strerror or exc}") from exc
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                out.append(CaseRecord.model_validate(json.loads(line)))
            except (ValueError, ValidationError):
                self.skipped_lines += 1
        return out

    def latest(self) -> dict[str, CaseRecord]:
        """The last record of each case (a retried error is superseded by its new record)."""
        out: dict[str, CaseRecord] = {}
        for record in self.records():
            out[record.case_id] = record
        return out

    def heal(self) -> None:
        """Before appending to an old log: end a line a kill cut short, so it stays one bad line."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() == 0:
                    return
                f.seek(-1, os.SEEK_END)
                last = f.read(1)
        except FileNotFoundError:
            return
        if last != b"\n":
            with self.log_path.open("ab") as f:
                f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())

    def append(self, record: CaseRecord) -> None:
        """Write one record as one line and make it durable before returning."""
        line = (record.model_dump_json() + "\n").encode("utf-8")
        with self._lock:
            try:
                with self.log_path.open("ab") as f:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                raise RunError(
                    f"cannot write to {self.log_path}: {exc.strerror or exc}; the cases recorded "
                    "so far are kept, resume when the disk is fixed"
                ) from exc


def resolve_run(ref: str, default_root: Path) -> Path:
    """A run given as a path, or as a run id under ``default_root``."""
    path = Path(ref).expanduser()
    if (path / MANIFEST).is_file():
        return path
    candidate = default_root / ref
    if (candidate / MANIFEST).is_file():
        return candidate
    raise RunError(
        f"no run {ref!r}: neither {path} nor {candidate} holds a {MANIFEST} "
        "(give the directory `mltutor eval run` printed)"
    )


__all__ = ["LOG", "MANIFEST", "RunDir", "resolve_run"]
