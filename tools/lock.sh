#!/bin/sh
# Regenerate constraints.txt, the pins every install uses (README, .ci/run, environment.yml).
#
#     sh tools/lock.sh              # from the repository root, in a venv with the dev extra
#     sh tools/lock.sh --upgrade    # also move pins to the newest versions that fit
#
# One universal resolution of pyproject.toml (all extras) by uv from the oldest supported interpreter,
# Python 3.11.2 (Debian 12's own), preferring the versions already pinned in constraints.txt, so a
# dependency change moves only what it must. Every pin must also install on 3.12 and 3.13:
# tests/test_constraints.py resolves the file for 3.11.2, 3.12.0 and 3.13.0 (wheels only) and
# fails when a pin cannot install on one of them; run it after regenerating:
#     .venv/bin/python -m pytest -p no:nbval -n 0 tests/test_constraints.py
set -eu
cd "$(dirname "$0")/.."
exec python -m uv pip compile pyproject.toml --all-extras --universal --python-version 3.11.2 \
    --only-binary :all: --custom-compile-command "sh tools/lock.sh" -o constraints.txt "$@"
