"""The layers point inward: the import-linter contracts in pyproject.toml hold."""

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
    assert "4 kept, 0 broken" in result.stdout


WORKER_WITHOUT_HTTP = """
import sys
from pathlib import Path

import anyio

from entrypoints.cli import main

main(["worker", "--help"], standalone_mode=False)

from adapters.sql import migrate
from entrypoints.container import Container, resolve
from entrypoints.settings import Settings
from entrypoints.worker_runtime import build_worker


async def drain() -> int:
    settings = Settings(data_dir=Path(sys.argv[1]), timeseries="memory", _env_file=None)
    await anyio.to_thread.run_sync(migrate.upgrade, settings.metadata_url)
    container = Container(settings=settings)
    await container.init_resources()
    try:
        return await build_worker(await resolve(container.ports()), 1).drain()
    finally:
        await container.shutdown_resources()


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
