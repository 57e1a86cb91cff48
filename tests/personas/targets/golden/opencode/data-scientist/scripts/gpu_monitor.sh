#!/usr/bin/env bash
# Live GPU monitoring for this project, installed by `nexus persona add data-scientist`.
# Usage: scripts/gpu_monitor.sh [options for `nexus gpu monitor`]
set -euo pipefail
if ! command -v nexus >/dev/null 2>&1; then
  echo "gpu_monitor.sh: the 'nexus' command is not on PATH; install Nexus (pip install nexus-cli) or activate its virtualenv." >&2
  exit 127
fi
exec nexus gpu monitor "$@"
