"""The spool sweep removes exactly the crash leftovers: files no live process holds and no unfinished job
names; a file a live request holds, or a job will still read, stays, and so do its checked copies."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import anyio

from adapters.frames.spool_files import create_held, let_go, sweep


def spooled(root: Path, suffix: str = ".csv", held: bool = True) -> tuple[Path, int]:
    path, handle, holder = create_held(root, suffix)
    with open(handle, "wb") as out:
        out.write(b"timestamp,close\n1,2\n")
    if not held:
        let_go(holder)  # as if its process had died
    return path, holder


def checked_copy(upload: Path) -> Path:
    copy = upload.with_name(f"{upload.name}.0123456789ab.checked.arrow")
    copy.write_bytes(b"arrow")
    return copy


def swept(root: Path, jobs: frozenset[str] = frozenset()) -> list[Path]:
    """One sweep, with `jobs` the uploads that unfinished jobs name."""

    async def in_use(paths: Sequence[str]) -> set[str]:
        return {path for path in paths if path in jobs}

    return sorted(anyio.run(sweep, root, in_use))


def test_only_files_nobody_holds_or_needs_are_removed(tmp_path: Path) -> None:
    live, holder = spooled(tmp_path)
    live_copy = checked_copy(live)
    dead, _ = spooled(tmp_path, held=False)
    dead_copy = checked_copy(dead)
    queued, _ = spooled(tmp_path, ".parquet", held=False)  # handed to a job that has not run yet
    orphan_copy = tmp_path / "upload-gone.csv.0123456789ab.checked.arrow"  # its upload is already deleted
    orphan_copy.write_bytes(b"arrow")
    foreign = tmp_path / "notes.txt"  # not the spool's
    foreign.write_text("keep")

    removed = swept(tmp_path, frozenset({str(queued)}))

    assert removed == sorted([dead, dead_copy, orphan_copy])
    assert sorted(tmp_path.iterdir()) == sorted([live, live_copy, queued, foreign])
    let_go(holder)
    assert swept(tmp_path) == sorted([live, live_copy, queued])


def test_a_file_held_by_a_live_process_stays_until_that_process_is_killed(tmp_path: Path) -> None:
    program = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from adapters.frames.spool_files import create_held
        path, handle, holder = create_held(Path({str(tmp_path)!r}), ".csv")
        print(path, flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        path = Path(process.stdout.readline().strip())
        assert swept(tmp_path) == []
        assert path.exists()
    finally:
        process.kill()
        process.wait()
    assert swept(tmp_path) == [path]
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert swept(tmp_path / "never-made") == []
