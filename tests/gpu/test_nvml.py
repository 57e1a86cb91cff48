"""The real NVML adapter: what it does on a machine without a driver, and on one with a GPU."""

from __future__ import annotations

import ast
from pathlib import Path

import pynvml
import pytest

from nexus_cli.gpu import nvml
from nexus_cli.gpu.model import GpuUnavailableError


def test_missing_driver_is_a_domain_error(no_nvml: None) -> None:
    with pytest.raises(GpuUnavailableError) as info:
        nvml.connect()
    assert info.value.hint and "nexus gpu impact" in info.value.hint
    assert info.value.category == "gpu_unavailable"


def test_a_field_nvml_cannot_give_is_none(no_nvml: None) -> None:
    # Without nvmlInit every NVML call raises a real NVMLError (Uninitialized).
    with pytest.raises(pynvml.NVMLError):
        pynvml.nvmlDeviceGetCount()
    assert nvml._field(pynvml.nvmlDeviceGetCount) is None
    assert nvml._field(len, "abc") == 3


@pytest.mark.gpu
def test_real_devices_and_processes() -> None:
    session = nvml.connect()
    try:
        devices = session.read_devices()
        assert devices and session.driver_version
        for dev in devices:
            assert dev.name and dev.uuid
            if not dev.is_mig:
                assert dev.memory_total and dev.memory_used is not None
            for proc in session.read_processes(dev.index):
                assert proc.pid > 0 and proc.kinds
            assert isinstance(session.read_process_utilization(dev.index), dict)
    finally:
        session.close()


def test_only_the_adapter_imports_pynvml() -> None:
    """Doctor, status and impact all ask NVML through this adapter (the one fake in tests)."""
    package = Path(nvml.__file__).resolve().parent.parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            if "pynvml" in names and path != Path(nvml.__file__).resolve():
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == []
