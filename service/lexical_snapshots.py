"""Saved BM25 base indexes ("snapshots") that a replica loads instead of reading the store.

A replica that builds its BM25 index from the whole collection saves it here, keyed by the
collection and the store revision it was read at; a starting replica loads the newest one the
store's change log can bring up to date, memory-mapped, and reads only the documents changed
since. Layout: ``<root>/<collection name>-<collection id>/<generation>-<revision>/``, holding
bm25s's files, the row ids and a manifest (written last) naming the generation, revision and
row count and the files' SHA-256 sums. A snapshot is written to a temporary directory beside
and renamed into place, so a reader sees a whole snapshot or none. Nothing in one is trusted:
a missing or stale one is skipped, and a damaged one (files, manifest, the index's structure,
or rows that disagree with the store) is removed with a warning; the caller rebuilds.
"""

import hashlib
import json
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.lexical import LexicalIndex

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Snapshot:
    generation: int
    revision: str
    index: LexicalIndex


class SnapshotStore:
    """The BM25 snapshots under ``root``, shared by the replicas that can see it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, root: Path) -> "SnapshotStore | None":
        """The snapshots under ``root``, or None (with a warning: the index then lives in
        memory only) when ``root`` is not a directory this process can create and write."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=root):
                pass
        except OSError as exc:
            logger.warning(
                "BM25 snapshots off: %s is not a writable directory (%s); each replica "
                "builds its index from the store and keeps it in memory",
                root,
                exc.strerror or exc,
            )
            return None
        return cls(root)

    def load(
        self,
        collection: str,
        usable: Callable[[int, str], bool],
        check: Callable[[Snapshot], None],
    ) -> Snapshot | None:
        """The newest snapshot of ``collection`` for which ``usable(generation, revision)``
        holds, whose files are intact and that ``check`` (raising ``ValueError``) accepts,
        or None."""
        for generation, revision, path in self._listed(collection):
            if not usable(generation, revision):
                continue
            try:
                rows = _check_manifest(path, generation, revision)
                snapshot = Snapshot(generation, revision, LexicalIndex.load(path))
                if len(snapshot.index) != rows:
                    raise ValueError(f"{len(snapshot.index)} rows, the manifest says {rows}")
                check(snapshot)
                return snapshot
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("BM25 snapshot %s is damaged, removed and rebuilt: %s", path, exc)
                shutil.rmtree(path, ignore_errors=True)
        return None

    def save(self, collection: str, generation: int, revision: str, index: LexicalIndex) -> None:
        """Save ``index`` (read at ``generation``/``revision``) unless that snapshot exists,
        then remove the collection's older snapshots."""
        folder = self.root / collection
        final = folder / f"{generation:010d}-{revision}"
        if final.exists():
            return
        temporary = folder / f".tmp-{uuid.uuid4().hex}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            temporary.mkdir()
            index.save(temporary)
            sums = {f.name: _sha256(f) for f in sorted(temporary.iterdir())}
            manifest = {"generation": generation, "revision": revision, "rows": len(index)}
            (temporary / MANIFEST).write_text(json.dumps(manifest | {"files": sums}))
            temporary.rename(final)  # atomic; fails if another replica saved it meanwhile
        except OSError as exc:
            if not final.exists():  # else another replica saved the same snapshot first
                logger.warning("BM25 snapshot %s not saved: %r", final, exc)
            return
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        logger.info("BM25 snapshot saved to %s", final)
        for older_generation, _, path in self._listed(collection):
            if older_generation < generation:
                shutil.rmtree(path, ignore_errors=True)  # a reader's mapped files stay valid

    def remove(self, collection: str) -> None:
        """Remove every snapshot of ``collection`` (deleted from the store)."""
        shutil.rmtree(self.root / collection, ignore_errors=True)

    def _listed(self, collection: str) -> list[tuple[int, str, Path]]:
        """The collection's snapshots, newest first (none if the folder cannot be read)."""
        found = []
        folder = self.root / collection
        try:
            paths = list(folder.iterdir()) if folder.is_dir() else []
        except OSError as exc:
            logger.warning("BM25 snapshots in %s unreadable: %r", folder, exc)
            return []
        for path in paths:
            generation, _, revision = path.name.partition("-")
            if generation.isdigit() and revision:
                found.append((int(generation), revision, path))
        return sorted(found, reverse=True)


def _check_manifest(path: Path, generation: int, revision: str) -> int:
    """The number of rows the manifest of snapshot ``path`` declares, once the manifest is
    found to name this snapshot and its files to match their sums; else ``ValueError``."""
    manifest = json.loads((path / MANIFEST).read_text())
    if (manifest["generation"], manifest["revision"]) != (generation, revision):
        raise ValueError("the manifest names another snapshot")
    sums = manifest["files"]
    if not isinstance(sums, dict):
        raise ValueError("the manifest lists no files")
    files = {f.name for f in path.iterdir()} - {MANIFEST}
    if set(sums) != files:
        raise ValueError(f"files {sorted(files)} do not match the manifest")
    for name, expected in sums.items():
        if _sha256(path / name) != expected:
            raise ValueError(f"{name} does not match its checksum")
    rows = manifest["rows"]
    if not isinstance(rows, int):
        raise ValueError(f"the manifest's row count {rows!r} is not a number")
    return rows


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
