"""Private Postgres and QuestDB servers that a fault test may kill, restart or fill up, started from the same
binaries `scripts/services.sh` uses, on free loopback ports under a temp folder of their own.

The shared stores of `.testenv/env.sh` serve every test at once and are never stopped; a test that breaks a
store breaks one of these. Start them once per module (they take seconds) and stop them in its teardown.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


def shared_folder(prefix: str) -> Path:
    """A temp folder the `postgres` user can enter too (pytest's own tmp folders are root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def questdb_jar() -> Path:
    """The server jar services.sh fetched: STAGE1_TEST_QUESTDB_JAR, its services folder, or Maven's cache."""
    named = os.environ.get("STAGE1_TEST_QUESTDB_JAR")
    if named:
        return Path(named)
    services = os.environ.get("STAGE1_SERVICES_DIR")
    places = [f"{services}/questdb/questdb-*.jar"] if services else []
    places += [
        f"{ROOT}/.testenv/questdb/questdb-*.jar",
        os.path.expanduser("~/.m2/repository/org/questdb/questdb/*/questdb-*.jar"),
    ]
    for pattern in places:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1])
    pytest.fail(
        "no QuestDB jar: run scripts/services.sh up (it fetches org.questdb:questdb) or set STAGE1_TEST_QUESTDB_JAR"
    )


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").exists():
        return str(Path(home, "bin", "java"))
    found = shutil.which("java")
    if not found:
        pytest.fail("no java on PATH: run scripts/services.sh up, which installs a JDK")
    return found


class PrivateQuestDB:
    """One QuestDB server with the settings services.sh gives the shared one (read-only pg-wire user)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "qdbdata"
        self.http_port, self.pg_port, self.ilp_port, self.min_port = (free_port() for _ in range(4))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pg_url(self) -> str:
        return f"postgresql://stage1_reader:stage1_reader@127.0.0.1:{self.pg_port}/qdb"

    def start(self) -> None:
        """Start (or start again after a kill, on the same data and ports) and wait until it answers SQL."""
        self.data.mkdir(parents=True, exist_ok=True)
        env = os.environ | {
            "QDB_HTTP_BIND_TO": f"127.0.0.1:{self.http_port}",
            "QDB_HTTP_MIN_NET_BIND_TO": f"127.0.0.1:{self.min_port}",
            "QDB_LINE_TCP_NET_BIND_TO": f"127.0.0.1:{self.ilp_port}",
            "QDB_PG_NET_BIND_TO": f"127.0.0.1:{self.pg_port}",
            "QDB_LINE_UDP_ENABLED": "false",
            "QDB_TELEMETRY_ENABLED": "false",
            "QDB_PG_READONLY_USER_ENABLED": "true",
            "QDB_PG_READONLY_USER": "stage1_reader",
            "QDB_PG_READONLY_PASSWORD": "stage1_reader",
            "QDB_SHARED_WORKER_COUNT": "2",
        }
        # Its native libraries are unpacked into java.io.tmpdir: inside the private folder they go with it.
        command = [java(), "-Xms128m", "-Xmx512m", "-XX:+UseParallelGC", f"-Djava.io.tmpdir={self.root}"]
        command += ["-p", str(questdb_jar())]
        command += ["-m", "io.questdb/io.questdb.ServerMain", "-d", str(self.data)]
        with (self.root / "questdb.log").open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.healthy, 120, "the private QuestDB to answer")

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"the private QuestDB exited with {self.process.returncode}: see {self.root}/questdb.log"
            )
        try:
            return httpx.get(f"{self.http_url}/exec", params={"query": "SELECT 1"}, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def state(self, lines: int = 40) -> str:
        """Whether the process still runs and the end of its log, for a failing test's message."""
        code = None if self.process is None else self.process.poll()
        log = self.root / "questdb.log"
        tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
        return f"QuestDB process {'running' if code is None else f'exited with {code}'}; log tail:\n" + "\n".join(tail)

    def pause(self) -> None:
        """SIGSTOP: every request in flight waits, none fails, until `resume` (or `kill`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no flush, no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sql(self, query: str) -> list[list[object]]:
        answer = httpx.get(f"{self.http_url}/exec", params={"query": query}, timeout=60)
        assert answer.status_code == 200, answer.text
        return list(answer.json().get("dataset", []))


class PrivatePostgres:
    """One Postgres cluster from Debian's binaries, run as the `postgres` user as services.sh runs it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not found:
            pytest.fail("no Postgres binaries under /usr/lib/postgresql: run scripts/services.sh up")
        self.bin = Path(found[-1])

    @property
    def server_url(self) -> str:
        return f"postgresql+asyncpg://stage1:stage1@127.0.0.1:{self.port}/stage1"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        self.ctl("start")
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-qc",
            "CREATE ROLE stage1 LOGIN SUPERUSER PASSWORD 'stage1'",
        )
        self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-qc",
            "CREATE DATABASE stage1 OWNER stage1",
        )

    def ctl(self, action: str, *extra: str) -> None:
        """`pg_ctl start|stop|restart` with services.sh's options; waits until it is done."""
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c max_connections=200"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "postgres.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            *extra,
            action,
        )

    def stop(self) -> None:
        with contextlib.suppress(AssertionError):
            self.ctl("stop", "-m", "immediate")


@contextlib.contextmanager
def private_questdb() -> Iterator[PrivateQuestDB]:
    """A started private QuestDB; stopped and its folder deleted afterwards."""
    server = PrivateQuestDB(shared_folder("stage1-qdb-"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private Postgres with the `stage1` role and database; stopped and deleted afterwards."""
    server = PrivatePostgres(shared_folder("stage1-pg-"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
