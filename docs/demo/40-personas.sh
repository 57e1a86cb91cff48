# Personas: role bundles for coding assistants, installed safely and reversibly.
step "nexus persona list: built-in role bundles (and your own, from .nexus/personas/)"
show nexus persona list

step "Your own CLAUDE.md and AGENTS.md exist already; Nexus will not clobber them"
printf '# Team rules\n\nUse tabs.\n' > CLAUDE.md
printf '# Agents\n\nRun make test before committing.\n' > AGENTS.md
cp CLAUDE.md "$DEMO_DIR/CLAUDE.before"; cp AGENTS.md "$DEMO_DIR/AGENTS.before"

step "nexus persona diff data-scientist: what add would change (CLAUDE.md part)"
nexus persona diff data-scientist | sed -n '/^--- a\/CLAUDE.md/,/^+<!-- <<</p'

step "nexus persona add data-scientist, then developer at level l2"
show nexus persona add data-scientist
show nexus persona add developer --level l2
show nexus persona current
show cat CLAUDE.md
show ls -l scripts/

step "Adding again changes nothing (byte-identical)"
show nexus persona add data-scientist

step "scripts/analyze_process_impact.sh <pid> runs Nexus's impact analysis (nexus gpu impact)"
sleep 30 & sleeper=$!
scripts/analyze_process_impact.sh "$sleeper" | head -20 || echo "(impact analysis unavailable here)"
kill "$sleeper" 2>/dev/null || true

step "A file you already have is never overwritten: the whole add is refused"
nexus persona remove data-scientist >/dev/null 2>&1
mkdir -p scripts && echo 'echo my own monitor' > scripts/gpu_monitor.sh
nexus persona add data-scientist || echo "(refused as expected; nothing was written)"
rm scripts/gpu_monitor.sh; rmdir scripts 2>/dev/null || true

step "nexus persona remove developer: CLAUDE.md and AGENTS.md are byte-identical to before"
show nexus persona remove developer
cmp CLAUDE.md "$DEMO_DIR/CLAUDE.before" && cmp AGENTS.md "$DEMO_DIR/AGENTS.before" \
  && echo "CLAUDE.md and AGENTS.md: identical to the originals"
show nexus persona current

step "nexus persona create: scaffold your own persona that extends a built-in"
show nexus persona create ml-lead --from data-scientist
show nexus persona show ml-lead
rm -rf .nexus/personas/ml-lead CLAUDE.md AGENTS.md
