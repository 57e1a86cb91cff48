# Coding agents: the session briefing and a reversible MCP client entry (docs/agents.md).
step "nexus prime: what an agent reads at the start of a session"
show nexus prime

step "nexus mcp install --client claude --print: the .mcp.json entry it would write"
show nexus mcp install --client claude --print

step "Install, then uninstall: .mcp.json is gone again, exactly as before"
show nexus mcp install --client claude
show cat .mcp.json
show nexus mcp uninstall --client claude
[ -e .mcp.json ] || echo ".mcp.json is absent again, as it was before the install"
