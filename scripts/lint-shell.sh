#!/usr/bin/env bash
# make lint-shell: bash -n and shellcheck on every shell script of the project.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
scripts=(scripts/*.sh local-cluster/*.sh local-cluster/*/*.sh bench/*/*.sh .ci/run)
for f in "${scripts[@]}"; do bash -n "$f"; done
bash scripts/ensure-shellcheck.sh
shellcheck -x "${scripts[@]}"
echo "lint-shell: ${#scripts[@]} scripts clean"
