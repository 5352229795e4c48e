#!/usr/bin/env bash
# The whole test suite against a real Postgres and a real QuestDB, from a fresh clone:
#   installs the Python package with its dev tools into .venv, starts throwaway Postgres (Debian's
#   postgresql package) and QuestDB (org.questdb:questdb via mvn dependency:copy) on free loopback ports,
#   runs ruff, mypy --strict, the import-layer contracts, vulture (dead code) and pytest, and stops both services at the end.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null
python -m pip install -q -e '.[dev]'
python -m pip install -q -e 'clients/python[all]'
# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download cannot run).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null
fi

free_port() { python - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

export STAGE1_SERVICES_DIR="${STAGE1_SERVICES_DIR:-$(mktemp -d /tmp/stage1-test-XXXXXX)}"
export STAGE1_PG_PORT="${STAGE1_PG_PORT:-$(free_port)}"
export STAGE1_QDB_HTTP_PORT="${STAGE1_QDB_HTTP_PORT:-$(free_port)}"
export STAGE1_QDB_ILP_PORT="${STAGE1_QDB_ILP_PORT:-$(free_port)}"
export STAGE1_QDB_PG_PORT="${STAGE1_QDB_PG_PORT:-$(free_port)}"
export STAGE1_QDB_MIN_HTTP_PORT="${STAGE1_QDB_MIN_HTTP_PORT:-$(free_port)}"
# Keep the jar across runs: fetching it is the slow part.
mkdir -p "$ROOT/.testenv/questdb"
mkdir -p "$STAGE1_SERVICES_DIR"
ln -sfn "$ROOT/.testenv/questdb" "$STAGE1_SERVICES_DIR/questdb"

cleanup() {
  scripts/services.sh down >/dev/null 2>&1 || true
  rm -rf "$STAGE1_SERVICES_DIR"
}
trap cleanup EXIT

scripts/services.sh up >/dev/null
# shellcheck disable=SC1091
. "$STAGE1_SERVICES_DIR/env.sh"

echo "== ruff"
ruff check src tests clients examples
echo "== mypy --strict src"
mypy src
(cd clients/python && mypy)
echo "== import layers"
lint-imports
echo "== dead code"
vulture
echo "== pytest"
python -m pytest -q "$@"
