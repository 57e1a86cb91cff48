"""The JSON-file NVML session that `nexus` subprocesses use in tests (``NEXUS_NVML_FAKE``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.gpu import nvml
from nexus_cli.gpu.model import GpuProcessReading, GpuUnavailableError
from tests.gpu.conftest import GIB, make_gpu, write_fake_nvml


def test_connect_reads_the_file_named_by_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "nvml.json"
    env = write_fake_nvml(
        path,
        [make_gpu("0"), make_gpu("0:0", is_mig=True, parent_index="0")],
        {"0:0": [GpuProcessReading(42, "0:0", GIB, ["compute"])]},
        {"0:0": {42: 77}},
    )
    monkeypatch.setenv("NEXUS_NVML_FAKE", env["NEXUS_NVML_FAKE"])
    session = nvml.connect()
    assert session.driver_version == "550.54.15"
    assert [d.index for d in session.read_devices()] == ["0", "0:0"]
    assert session.read_processes("0:0") == [GpuProcessReading(42, "0:0", GIB, ["compute"])]
    assert session.read_process_utilization("0:0") == {42: 77}
    write_fake_nvml(path, [make_gpu("0", utilization_pct=3)])  # re-read on every device read
    assert session.read_devices()[0].utilization_pct == 3


@pytest.mark.parametrize("content", ["{not json", '{"devices": [{"bogus": 1}]}'])
def test_a_bad_file_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    (tmp_path / "nvml.json").write_text(content)
    monkeypatch.setenv("NEXUS_NVML_FAKE", str(tmp_path / "nvml.json"))
    with pytest.raises(GpuUnavailableError, match="NEXUS_NVML_FAKE"):
        nvml.connect().read_devices()
