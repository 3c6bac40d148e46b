#!/usr/bin/env bash
# Sets up .venv (if needed) and runs the quick start: trains a tiny BERT
# classifier under XLA on the bundled sentiment set and prints its accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python recipes/quickstart.py "$@"
