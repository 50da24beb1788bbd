"""How to make the material index and its manifest agree again (see :mod:`.material`).

Chunks are grouped by file and version (``doc_sha``). While the manifest is readable it is the
truth: versions it does not point to are leftovers of an interrupted add and are dropped, files it
lists but the index lacks (or holds incompletely) are re-added from disk. A damaged manifest is
rebuilt from the newest complete version of each file in the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltutor.knowledge.user_material import Manifest, UserDoc


@dataclass
class Version:
    """The chunks of one version of one file found in the index."""

    ids: list[str] = field(default_factory=list)
    parts: int = -1  # -1: chunks written before versions were recorded
    added: str = ""

    @property
    def complete(self) -> bool:
        return self.parts < 0 or len(self.ids) >= self.parts


@dataclass
class RepairPlan:
    """Chunk ids to drop (with messages), files to list again, files to re-add."""

    drop: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    relist: dict[str, tuple[str, int]] = field(default_factory=dict)
    lost: list[UserDoc] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.drop or self.relist or self.lost)


def plan_repair(got: dict[str, Any], manifest: Manifest) -> RepairPlan:
    """What to drop, re-list and re-add so that the index and the manifest agree."""
    versions: dict[str, dict[str, Version]] = {}
    for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
        m = meta or {}
        v = versions.setdefault(str(m.get("source", "")), {}).setdefault(
            str(m.get("doc_sha", "")), Version()
        )
        v.ids.append(cid)
        v.parts = int(m.get("parts", -1))
        v.added = str(m.get("added", ""))
    plan, trusted = RepairPlan(), not manifest.unreadable
    kept: dict[str, Version] = {}
    for source, vers in versions.items():
        entry = manifest.get(Path(source)) if trusted else None
        if trusted:
            keep = entry.sha256 if entry and entry.sha256 in vers else None
            if keep is None and "" in vers:
                keep = ""  # chunks from before versions were recorded: listed as they are
        else:
            whole = [s for s, v in vers.items() if v.complete]
            keep = max(whole, key=lambda s: vers[s].added) if whole else None
        for sha, v in vers.items():
            if sha != keep:
                plan.drop += v.ids
                plan.messages.append(
                    f"cleaned up an interrupted change to {source} (the version listed is whole)"
                    if keep is not None
                    else f"an interrupted add of {source} was rolled back; add it again "
                    "with `mltutor knowledge add`"
                )
        if keep is not None:
            kept[source] = vers[keep]
            if entry is None:
                plan.relist[source] = (keep, len(vers[keep].ids))
    if trusted:
        plan.lost = [
            d for d in manifest.list() if str(d.path) not in kept or not kept[str(d.path)].complete
        ]
    return plan
