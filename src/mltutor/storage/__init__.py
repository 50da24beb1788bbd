"""Opening persistent stores safely: typed failures, proven corruption only, unique asides, notices.

Used by both stores in the data dir (the sessions SQLite file and the knowledge index). The rules:

- a failure is classified (:func:`classify`): *locked*, *disk full*, *read-only* and plain I/O
  problems raise :class:`StorageError` with a message a user can act on, and the file is left alone;
- a store is moved aside only when it is proven corrupt (SQLite ``quick_check``, "file is not a
  database"); the new name is unique (:func:`move_aside` reserves it with ``O_EXCL``/``mkdir``, so
  two processes never overwrite each other's copy);
- each move aside leaves a notice in ``<data_dir>/notices/`` that :func:`pending_notices` returns on
  every start until the user deletes or moves the kept copy;
- :func:`file_lock` is an inter-process ``flock`` (shared or exclusive, optional timeout);
  :func:`replace_dir` swaps a freshly built directory in with one atomic rename.

The parts: :mod:`.failures` (kinds and messages), :mod:`.aside` (proof, asides, notices),
:mod:`.locks` (flock, directory swap). Nothing here imports the other parts of mltutor, so
``tools``, ``knowledge`` and ``agent`` can all use it.
"""

from mltutor.storage.aside import (
    ASIDE_REASON,
    SQLITE_SIDECARS,
    StorageNotice,
    move_aside,
    notice_messages,
    pending_notices,
    record_notice,
    sqlite_damage,
)
from mltutor.storage.failures import (
    LOW_SPACE_BYTES,
    LockBusy,
    StorageError,
    StorageKind,
    classify,
    diagnose,
    explain,
    free_bytes,
    human_size,
    is_read_only,
    storage_error,
)
from mltutor.storage.locks import enable_wal, file_lock, lock_path, replace_dir

__all__ = [
    "ASIDE_REASON",
    "LOW_SPACE_BYTES",
    "SQLITE_SIDECARS",
    "LockBusy",
    "StorageError",
    "StorageKind",
    "StorageNotice",
    "classify",
    "diagnose",
    "enable_wal",
    "explain",
    "file_lock",
    "free_bytes",
    "human_size",
    "is_read_only",
    "lock_path",
    "move_aside",
    "notice_messages",
    "pending_notices",
    "record_notice",
    "replace_dir",
    "sqlite_damage",
    "storage_error",
]
