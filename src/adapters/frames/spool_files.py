"""Spool files that outlive their process are found and removed; live ones are never touched.

Each spooled upload is held under an exclusive `flock` for as long as its request owns it; the kernel drops
the lock when the process dies, however it dies (SIGKILL included). A file handed to a job is named in the
job's payload, and the job deletes it when it is done. So a sweep removes exactly the files that no process
holds and no unfinished job names: the leftovers of a crash. Files are created and locked under a shared
`flock` of the folder itself, which the sweep takes exclusively, so it never sees a file between its
creation and its lock. Checked copies (`*.checked.arrow`) go with the upload they were made from.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

import anyio
import anyio.to_thread

from adapters.frames.checked import CHECKED_SUFFIX

try:
    import fcntl
except ImportError:  # not POSIX: nothing can tell a live file from a leftover, so nothing is swept
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("stage1.spool")

PREFIX: Final = "upload-"


@contextlib.contextmanager
def _folder(root: Path, exclusive: bool) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    descriptor = os.open(root, os.O_RDONLY)  # the folder itself: no lock file to leave behind
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # closing drops the lock


def create_held(root: Path, suffix: str) -> tuple[Path, int, int]:
    """A new spool file, already locked: answers its path, a descriptor to write it through, and the
    descriptor that holds its lock (close it to let the file go)."""
    with _folder(root, exclusive=False):
        handle, name = tempfile.mkstemp(prefix=PREFIX, suffix=suffix, dir=root)
        holder = os.dup(handle)  # the lock belongs to the open file, which outlives the writing descriptor
        if fcntl is not None:
            fcntl.flock(holder, fcntl.LOCK_EX)
    return Path(name), handle, holder


def let_go(holder: int) -> None:
    with contextlib.suppress(OSError):
        os.close(holder)


def _upload_of(path: Path) -> Path:
    """The upload a checked copy was made from (`upload-x.csv.<id>.checked.arrow` -> `upload-x.csv`)."""
    if path.name.endswith(CHECKED_SUFFIX):
        return path.with_name(path.name[: -len(CHECKED_SUFFIX)].rsplit(".", 1)[0])
    return path


def _take(upload: Path) -> int | None:
    """The upload's lock when no live process holds it (or -1 when the upload itself is gone); None while
    it is held."""
    assert fcntl is not None
    try:
        descriptor = os.open(upload, os.O_RDONLY)
    except FileNotFoundError:
        return -1
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    return descriptor


def _leftover_candidates(root: Path) -> tuple[dict[Path, int], list[tuple[Path, Path]]]:
    """Spool files whose upload no live process holds, each with its upload; the uploads' locks stay taken
    (the caller lets them go)."""
    taken: dict[Path, int] = {}
    held: set[Path] = set()
    leftovers: list[tuple[Path, Path]] = []
    if fcntl is None or not root.is_dir():
        return taken, leftovers
    with _folder(root, exclusive=True):
        for path in sorted(root.glob(f"{PREFIX}*")):
            upload = _upload_of(path)
            if upload in held:
                continue
            if upload not in taken:
                descriptor = _take(upload)
                if descriptor is None:
                    held.add(upload)
                    continue
                taken[upload] = descriptor
            leftovers.append((path, upload))
    return taken, leftovers


def _remove(leftovers: list[tuple[Path, Path]], named: set[str], taken: dict[Path, int]) -> list[Path]:
    removed = []
    try:
        for path, upload in leftovers:
            if str(upload) not in named:
                path.unlink(missing_ok=True)
                removed.append(path)
    finally:
        for descriptor in taken.values():
            if descriptor >= 0:
                os.close(descriptor)
    return removed


async def sweep(root: Path, in_use: Callable[[Sequence[str]], Awaitable[set[str]]]) -> list[Path]:
    """Removes the spool files under `root` that no live process holds and no unfinished job names (see
    `JobRepository.uploads_in_use`); answers what it removed."""
    taken, leftovers = await anyio.to_thread.run_sync(_leftover_candidates, root)
    try:
        # Read after the locks were taken: a request hands its file to a job before it lets go of it.
        named = await in_use([str(upload) for upload in taken]) if taken else set()
    except BaseException:
        await anyio.to_thread.run_sync(_remove, [], set(), taken)
        raise
    removed = await anyio.to_thread.run_sync(_remove, leftovers, named, taken)
    if removed:
        log.info("removed %d spool files left by processes that ended", len(removed))
    return removed
