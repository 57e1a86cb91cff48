"""Recording: one event per invocation, what is hashed, and the on/off setting."""
