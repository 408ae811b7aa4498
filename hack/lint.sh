#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): ruff, import-linter and mypy --strict, configured in pyproject.toml.
# Needs the venv with the `lint` extra (hack/venv.sh; the Makefile and hack/test.sh remake a stale one).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
status=0
echo "=== lint: ruff check"
"$VENV/bin/ruff" check operator tests bench hack || status=1
echo "=== lint: import-linter (the layers in pyproject.toml)"
"$VENV/bin/lint-imports" --no-cache || status=1
echo "=== lint: mypy --strict (operator/dagwright)"
"$VENV/bin/mypy" || status=1
[[ $status == 0 ]] && echo "=== lint: clean" || echo "=== lint: FAILED"
exit $status
