"""The journal: one event per invocation (hashed names, the on/off switch), its file format,
its lock, appending on the recording path and reading records back for the fold."""
