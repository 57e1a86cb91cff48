"""GPU status, live monitor and process-impact analysis.

Only :mod:`nexus_cli.gpu.nvml` talks to NVML; everything else works on the plain readings it
returns, so the analysis runs (CPU-side) on machines without an NVIDIA driver.
"""
