#!/usr/bin/env bash
# Creates the project's virtualenv and installs Dagwright with its test and lint dependencies from PyPI.
set -euo pipefail
venv=${1:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# requirements.lock (the image's pins) constrains the runtime packages here too, so tests and
# `mypy --strict` see the versions the image ships, not whatever is newest today.
"$venv/bin/pip" install -q --disable-pip-version-check -c requirements.lock -e '.[test,lint]'
