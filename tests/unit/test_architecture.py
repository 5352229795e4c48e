"""The layers point inward: the import-linter contracts in pyproject.toml hold."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_domain_and_application_layers_import_nothing_they_must_not() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


WORKER_WITHOUT_HTTP = """
import sys
from pathlib import Path

import anyio

from entrypoints.cli import main

main(["worker", "--help"], standalone_mode=False)

from entrypoints.container import open_ports
from entrypoints.settings import Settings
from entrypoints.worker_runtime import build_worker


async def drain() -> int:
    settings = Settings(data_dir=Path(sys.argv[1]), timeseries="memory", _env_file=None)
    async with open_ports(settings) as ports:
        return await build_worker(ports, 1).drain()


anyio.run(drain)
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "litestar" or name.startswith("entrypoints.http"))
assert not loaded, loaded
print("no http")
"""


def test_a_worker_process_runs_its_jobs_without_importing_litestar_or_the_http_layer(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER_WITHOUT_HTTP, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("no http")


ROUTES = ROOT / "src" / "entrypoints" / "http"
# What a route may not touch: it calls use cases (bound by the composition root) and never a store,
# a unit of work or the port bundle of old.
FORBIDDEN_IN_ROUTES = re.compile(
    r"\buow\(\)|\bports\.(uow|store|queue|feed|events)\b|\.store\.\w+\(|\b(UnitOfWork|TimeSeriesStore|OpenPorts)\b"
)


def test_no_route_reaches_a_store_or_opens_a_unit_of_work_itself() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(ROUTES.glob("*.py"))
        if path.name not in ("app.py", "use_cases.py")  # the wiring: binds use cases to the opened ports
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN_IN_ROUTES.search(line)
    ]
    assert offenders == []


def test_every_use_case_a_route_calls_names_only_ports_the_composition_root_provides(tmp_path: Path) -> None:
    from entrypoints.container import OpenPorts
    from entrypoints.http.use_cases import ROUTED

    ports = OpenPorts(*(object() for _ in range(8)))  # type: ignore[arg-type]
    for use_case in ROUTED:
        ports.bind(use_case)  # raises TypeError naming a port nobody provides


LONGEST_MODULE = 400


def test_no_module_in_src_is_over_400_lines() -> None:
    """A module that long holds more than one idea; split it by role (as `adapters/sql/columns.py` was)."""
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "src").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST_MODULE
    }
    assert too_long == {}
