#!/usr/bin/env bash
# Rewrites constraints.txt from what .venv holds. Run it on purpose, after
# `TFZOO_LATEST=1 bash scripts/test.sh` passed on a fresh clone, so that
# scripts/setup.sh installs those versions from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  sed -n '/^#/p' constraints.txt
  # Local version labels (torch's +cpu) would not match other builds.
  .venv/bin/python -m pip freeze --exclude-editable |
    grep -v -e '^-e ' -e '^tfzoo==' | sed 's/+[A-Za-z0-9.]*$//'
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"
