#!/usr/bin/env bash
# The guided demo behind `make demo`: runs every docs/demo/*.sh in name order, inside a fresh
# temporary git repository, with NEXUS_HOME in a temporary folder, so nothing of yours is touched.
# Works with or without a Docker engine and a GPU: each section says what it can show here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v nexus >/dev/null || { echo "nexus is not on PATH (run \`make demo\`)" >&2; exit 1; }

DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/nexus-demo.XXXXXX")"
export NEXUS_HOME="$DEMO_DIR/nexus-home"
export NEXUS_CONFIG_HOME="$DEMO_DIR/nexus-config"
export NEXUS_SESSION_ID="demo-$$"
export GIT_AUTHOR_NAME="Nexus Demo" GIT_AUTHOR_EMAIL="demo@example.invalid"
export GIT_COMMITTER_NAME="Nexus Demo" GIT_COMMITTER_EMAIL="demo@example.invalid"
# On every exit (success, a failed step, Ctrl-C): end every process the demo started, with its
# children; delete the workspaces it made (containers, networks, volumes); then the folder.
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  local code=$? pid name
  trap - EXIT INT TERM
  for pid in $(ps -o pid= --ppid $$ 2>/dev/null); do
    [ "$pid" = "$BASHPID" ] || kill_tree "$pid"
  done
  if [ -d "$DEMO_DIR/project/.nexus" ]; then
    for name in $(cd "$DEMO_DIR/project" && nexus --no-telemetry workspace list --json 2>/dev/null \
        | python3 -c 'import json, sys; print(*(w["name"] for w in json.load(sys.stdin)["workspaces"]))' 2>/dev/null); do
      (cd "$DEMO_DIR/project" && nexus --no-telemetry workspace delete "$name" --force >/dev/null 2>&1) || true
    done
  fi
  [ -n "${NEXUS_DEMO_KEEP:-}" ] || rm -rf "$DEMO_DIR"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bold=""; reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m'; reset=$'\033[0m'; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
# Print a command as it can be copied and run (arguments quoted where they need it), then run it.
quote() {
  local arg out=""
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $arg"
    else out+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '%s' "${out# }"
}
show() { printf '$ %s\n' "$(quote "$@")"; "$@"; }
export -f step show quote 2>/dev/null || true

mkdir -p "$DEMO_DIR/project"
cd "$DEMO_DIR/project"
git init -q -b main
printf '# demo project\n' > README.md
git add README.md && git commit -q -m "initial commit"

for section in "$here"/demo/*.sh; do
  # shellcheck source=/dev/null
  source "$section"
done

step "Done. The demo ran in $DEMO_DIR (removed; set NEXUS_DEMO_KEEP=1 to keep it)."
