"""A real `stage1` HTTP server in a child process for the time-series benchmark, and its memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

SERVE_SCRIPT = Path(__file__).with_name("ts_serve.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """`python benchmarks/ts_serve.py` (uvicorn on `create_app`) with the given STAGE1_* settings."""

    settings: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, **self.settings, "STAGE1_HOST": "127.0.0.1", "STAGE1_PORT": str(self.port)}
        log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, str(SERVE_SCRIPT)], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer /api/health within {timeout:g} s; see {self.log_path}")

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT is uvicorn's graceful stop; it runs the lifespan shutdown (and writes a profile if asked).
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class RssSampler:
    """The resident set size of one process, sampled every `interval` seconds in a thread, and the CPU
    seconds it used meanwhile."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples: list[int] = []
        self.cpu_seconds = 0.0

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        return int(self._process.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self.samples = [self.rss()]
        self.cpu_seconds = -self._cpu()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.samples.append(self.rss())
        self.cpu_seconds += self._cpu()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.samples.append(self.rss())
            except psutil.Error:
                return

    @property
    def idle(self) -> int:
        return self.samples[0]

    @property
    def peak(self) -> int:
        return max(self.samples)


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (QuestDB's JVM), when the OS lets us see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return int(conn.pid)
    except (psutil.Error, OSError):
        return None
    return None


class CpuLedger:
    """CPU seconds used over a stretch of wall time: by the server, this client, QuestDB, and everyone else.

    The machine is shared; `others` says how much of it other work took while we measured."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in pids.items() if pid is not None}
        self._processes["client"] = psutil.Process()
        self._start: dict[str, float] = {}
        self._wall = 0.0
        self._machine = 0.0
        self.used: dict[str, float] = {}
        self.wall = 0.0

    @staticmethod
    def _busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def _cpu(self, process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            return float(times.user + times.system + times.children_user + times.children_system)
        except psutil.Error:
            return 0.0

    def __enter__(self) -> CpuLedger:
        self._start = {name: self._cpu(process) for name, process in self._processes.items()}
        self._machine = self._busy()
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self._wall
        machine = self._busy() - self._machine
        self.used = {name: self._cpu(process) - self._start[name] for name, process in self._processes.items()}
        self.used["others"] = max(0.0, machine - sum(self.used.values()))

    def summary(self) -> str:
        cores = ", ".join(f"{name} {seconds / self.wall:.2f}" for name, seconds in self.used.items())
        return f"average cores busy over {self.wall:.0f} s: {cores} (of {psutil.cpu_count()})"
