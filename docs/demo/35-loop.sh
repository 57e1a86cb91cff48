# The agent loop and workflows: an agent is re-run until the gates pass; a workflow is a chain of
# gated stages. The "agent" here is a two-line shell script that gets it wrong the first time.
step "nexus workflow: shipped multi-persona workflows, each stage guarded by gates"
export NEXUS_AGENT=demo-agent
show nexus workflow list
printf 'test:\n\tgrep -qx ok status.txt\n' > Makefile
printf '# Changelog\n' > CHANGELOG.md
git add Makefile CHANGELOG.md && git commit -q -m "a project with make test"
show nexus workflow run package-release --var version=1.2

step "Gates from a committed workflow file wait for a person's approval; nothing runs them yet"
prepare=$(nexus task list --label stage:prepare --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
show nexus task gate list "$prepare"
# A person approves them at a terminal (`nexus task gate approve --all` shows each command and
# asks on /dev/tty; a script cannot answer), or trusts plain commands in their own config,
# outside the repository. The demo has no person at a terminal, so it writes a trust rule:
mkdir -p "$NEXUS_CONFIG_HOME"
cat > "$NEXUS_CONFIG_HOME/trust.yaml" <<TRUST
rules:
  - project: $PWD
    commands: [make test, 'grep -qF -- * CHANGELOG.md', 'git rev-parse -q --verify refs/tags/v*']
TRUST
show cat "$NEXUS_CONFIG_HOME/trust.yaml"
show nexus task gate list "$prepare"

step "nexus loop: the prompt (task context + last failing gate output) goes to the agent's stdin"
cat > "$DEMO_DIR/agent.sh" <<'AGENT'
if [ "$NEXUS_LOOP_ITERATION" = 1 ]; then echo broken > status.txt; exit 0; fi
echo ok > status.txt
version=$(sed -n 's/^# nx-[0-9a-z]*: [A-Za-z]* release //p' | head -1)
grep -q "$version" CHANGELOG.md || printf '\n## %s\n' "$version" >> CHANGELOG.md
git rev-parse -q --verify "refs/tags/v$version" >/dev/null || git tag "v$version"
AGENT
show nexus loop --agent "sh $DEMO_DIR/agent.sh" --max-iterations 3
show nexus task list --label workflow:package-release
unset NEXUS_AGENT
