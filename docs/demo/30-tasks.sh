# Tasks: verification gates that cannot be skipped, shared through git. No Docker needed here
# (gates with --in SERVICE run inside a workspace container when an engine is available).
step "nexus task: tasks live in .nexus/tasks.db and .nexus/tasks.jsonl (commit it to share)"
show nexus init
export NEXUS_AGENT=demo-agent
printf 'echo "checking the parser"\ngrep -q parser src.txt\n' > check.sh
# `nexus task create` prints the new id on stdout, so scripts can capture it.
capture() { printf '$ %s=$(%s)\n' "$1" "$(quote "${@:2}")"; printf -v "$1" '%s' "$("${@:2}")"; echo "${!1}"; }
capture schema nexus task create "Design the schema" -p 1 --gate "true"
capture parser nexus task create "Write the parser" -p 0 --depends-on "$schema" --gate "sh check.sh" \
  -d "Parse the input; check.sh must pass"
show nexus task ready
show nexus task blocked

step "Claims are atomic; completing runs every gate (here: they pass)"
show nexus task claim "$schema"
show nexus task complete "$schema"
show nexus task ready

step "A failing gate keeps the task in progress: exit code 3, output stored"
show nexus task claim "$parser"
code=0; show nexus task complete "$parser" || code=$?
status=$(nexus task show "$parser" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
echo "(exit code $code; the task is still $status)"
echo "parser: done" > src.txt
show nexus task complete "${parser#nx-}"

step "Cycles are refused, with the cycle named"
printf '$ nexus task dep add %s %s\n' "$schema" "$parser"
nexus task dep add "$schema" "$parser" || true

step "History and a Markdown hand-off for the next agent"
show nexus task history "$parser"
show nexus task context "$parser"

step "Sharing through git: a teammate's clone, a field-by-field merge driver, no manual merge"
show cat .gitattributes
git add -A >/dev/null && git commit -q -m "tasks"
git clone -q . "$DEMO_DIR/teammate"
(cd "$DEMO_DIR/teammate" && export NEXUS_AGENT=teammate && nexus init >/dev/null && nexus task create "Teammate's task" --gate "true" >/dev/null \
  && nexus task note "$schema" "reviewed by the teammate" >/dev/null && git add -A && git commit -q -m "teammate")
nexus task note "$schema" "note from here" >/dev/null
git add -A && git commit -q -m "local note"
git -c pull.rebase=false pull -q --no-edit "$DEMO_DIR/teammate" main
show nexus task list
show nexus task show "$schema"
unset NEXUS_AGENT
