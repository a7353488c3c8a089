#!/usr/bin/env bash
# The spine's thin end-to-end run on California housing (needs MLPILOT_DATA_HOME).
# Prints the leaderboard and the wall time; the project goes to a temporary directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cd "$work"
time "$repo/.venv/bin/mlpilot" run "${MLPILOT_DATA_HOME:?set MLPILOT_DATA_HOME}/housing/housing.csv" \
  --target median_house_value --project "$work/housing"
"$repo/.venv/bin/mlpilot" evaluate --project "$work/housing"
rm -rf "$work"
