#!/usr/bin/env bash
# Creates the project's virtualenv and installs Dagwright with its test and lint dependencies from PyPI.
set -euo pipefail
venv=${1:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e '.[test,lint]'
