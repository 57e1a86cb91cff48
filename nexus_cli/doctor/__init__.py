"""Environment checks behind `nexus doctor`."""
