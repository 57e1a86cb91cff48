#!/usr/bin/env bash
# What stopping a process would cost (GPU memory, runtime, children, other users), installed by
# `nexus persona add data-scientist`. Usage: scripts/analyze_process_impact.sh <pid> [options]
set -euo pipefail
if ! command -v nexus >/dev/null 2>&1; then
  echo "analyze_process_impact.sh: the 'nexus' command is not on PATH; install Nexus (pip install nexus-cli) or activate its virtualenv." >&2
  exit 127
fi
if [ "$#" -eq 0 ]; then
  echo "usage: $0 <pid> [options for \`nexus gpu impact\`]" >&2
  exit 2
fi
exec nexus gpu impact "$@"
