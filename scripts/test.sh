#!/usr/bin/env bash
# Everything `make test` runs: lint, types, import rules, then the whole suite with a real,
# throwaway PostgreSQL cluster (unless STEADYML_TEST_POSTGRES_URL already points at one).
# `make test-quick` sets STEADYML_QUICK=1 (no mypy) and passes -m "not slow" to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
if [ -z "${STEADYML_QUICK:-}" ]; then
  echo "== mypy (src)"
  $BIN/mypy src
fi
echo "== import rules"
$BIN/lint-imports

if [ -z "${STEADYML_TEST_POSTGRES_URL:-}" ]; then
  # shellcheck source=scripts/postgres.sh
  source scripts/postgres.sh
  pg_start
  trap pg_stop EXIT
fi

echo "== chromium (for the browser tests)"
if [ -z "${STEADYML_SKIP_BROWSER:-}" ]; then
  bash scripts/chromium.sh
fi

echo "== pytest"
$BIN/python -m pytest "$@"
