"""A private QuestDB for the scale benchmark, with small append pages so that thousands of small tables fit.

Every run save owns a QuestDB measurement. With QuestDB 9.2's default page sizes a new table takes about
95 MB of disk however few rows it holds (16 MB per column file of its partition and of its symbol table,
1 MB per column of each WAL segment), so 2,000 run saves need about 190 GB. With every append page at 64 KB
it takes about 1 MB (benchmarks/README.md has the measurements). The server runs from the jar
`scripts/services.sh` fetched (STAGE1_TEST_QUESTDB_JAR), on free loopback ports, with its data under a temp
folder that is deleted when it stops.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# server.conf keys (as QDB_* environment variables): every file a table, its WAL segments and its symbol
# tables grow by is mapped one page at a time, and a new table maps its first page of each at once.
SMALL_PAGES = {
    "cairo.writer.data.append.page.size": "64K",
    "cairo.system.writer.data.append.page.size": "64K",
    "cairo.writer.data.index.key.append.page.size": "64K",
    "cairo.writer.data.index.value.append.page.size": "64K",
    "cairo.writer.misc.append.page.size": "64K",
    "cairo.symbol.table.append.page.size": "64K",
    "cairo.wal.writer.data.append.page.size": "64K",
    "cairo.wal.writer.event.append.page.size": "64K",
    "cairo.o3.column.memory.size": "128K",
}

# QuestDB keeps the files of a table it wrote to open (writer, WAL writer, sequencer: about 27 for a 5-column
# table) until an idle check finds them unused for a TTL: by default a check every 5 minutes and a writer TTL
# of 10 minutes. At a few new tables a second that exceeds the process's open-file limit (20,000 here) within
# minutes, and every table created after that fails ("could not open read-write"). Closed after 5 s idle,
# 150 new tables leave 55 files open 25 s later instead of about 4,000. Times in milliseconds.
CLOSE_IDLE = {
    "cairo.idle.check.interval": "2000",
    "cairo.inactive.writer.ttl": "5000",
    "cairo.inactive.reader.ttl": "5000",
    "cairo.wal.inactive.writer.ttl": "5000",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return str(Path(home, "bin", "java"))
    found = shutil.which("java")
    if not found:
        raise SystemExit("no java on PATH: run scripts/services.sh up, which installs a JDK")
    return found


def disk_bytes(folder: Path) -> int:
    """Bytes allocated on disk under a folder (what fills the disk, not the files' apparent sizes)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # QuestDB removes files while we walk
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


@dataclass(frozen=True)
class QuestDB:
    http_url: str
    pg_url: str
    tables_folder: Path | None  # None for the shared server: its disk is not ours to measure


@contextmanager
def private_questdb(jar: str, settings: dict[str, str]) -> Iterator[QuestDB]:
    """A started QuestDB with the given server.conf settings; stopped and its folder deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="stage1-scale-qdb-"))
    http, pg, ilp, minimal = (_free_port() for _ in range(4))
    env = os.environ | {f"QDB_{key.upper().replace('.', '_')}": value for key, value in settings.items()} | {
        "QDB_HTTP_BIND_TO": f"127.0.0.1:{http}",
        "QDB_HTTP_MIN_NET_BIND_TO": f"127.0.0.1:{minimal}",
        "QDB_LINE_TCP_NET_BIND_TO": f"127.0.0.1:{ilp}",
        "QDB_PG_NET_BIND_TO": f"127.0.0.1:{pg}",
        "QDB_LINE_UDP_ENABLED": "false",
        "QDB_TELEMETRY_ENABLED": "false",
        "QDB_PG_READONLY_USER_ENABLED": "true",
        "QDB_PG_READONLY_USER": "stage1_reader",
        "QDB_PG_READONLY_PASSWORD": "stage1_reader",
        "QDB_SHARED_WORKER_COUNT": "2",
    }
    command = [_java(), "-Xms128m", "-Xmx1g", "-XX:+UseParallelGC", "-p", jar]
    command += ["-m", "io.questdb/io.questdb.ServerMain", "-d", str(root / "qdbdata")]
    process: subprocess.Popen[bytes] | None = None
    try:
        (root / "qdbdata").mkdir()
        with (root / "questdb.log").open("ab") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{http}"
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                tail = (root / "questdb.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"the private QuestDB exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{url}/exec", params={"query": "SELECT 1"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the private QuestDB did not answer within 120 s")
            time.sleep(0.2)
        yield QuestDB(url, f"postgresql://stage1_reader:stage1_reader@127.0.0.1:{pg}/qdb", root / "qdbdata" / "db")
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
