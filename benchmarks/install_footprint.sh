#!/usr/bin/env bash
# Install time and size on a fresh clone, as a new user would see it (no pip cache).
# Usage: bash benchmarks/install_footprint.sh   (prints figures; writes nothing in the repo)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
git clone -q "$repo" "$work/mlpilot"
cd "$work/mlpilot"
start=$(date +%s.%N)
PIP_NO_CACHE_DIR=1 make install >/dev/null
end=$(date +%s.%N)
echo "install wall time: $(echo "$end - $start" | bc) s"
echo "venv size: $(du -sh .venv | cut -f1)"
echo "largest packages:"; du -sh .venv/lib/python3.11/site-packages/* | sort -h | tail -6
echo "GPU stacks present (torch, nvidia-*, xgboost with NCCL):"
ls .venv/lib/python3.11/site-packages | grep -iE '^(torch|nvidia|xgboost|jax)' || echo "  none"
rm -rf "$work"
