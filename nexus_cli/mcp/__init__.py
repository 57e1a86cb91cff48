"""Nexus for coding agents: the MCP server's tools, client configuration and session hooks.

Only :mod:`nexus_cli.mcp.server` imports the ``mcp`` SDK (the optional extra ``nexus-cli[mcp]``);
the tool functions themselves are plain Python over the same library calls the CLI makes.
"""
