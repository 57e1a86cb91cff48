"""`nexus gpu ...` end to end: exit codes, stderr, --json, plain output, actions."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable

import psutil
import pytest

from nexus_cli import paths
from nexus_cli.gpu.model import GpuProcessReading
from tests.conftest import REPO_ROOT, fold_telemetry, run_nexus, run_process
from tests.gpu.conftest import GIB, FakeNvml, Trainer, make_gpu, wait_until


def _gpu_events() -> list[tuple[str, str, str | None]]:
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    rows = conn.execute("SELECT command, event_type, raw_data FROM events").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["processes"],
        ["monitor", "--once"],
        ["ghosts"],
        ["pick"],
        ["wait", "--", "true"],
    ],
)
def test_without_a_driver_one_line_and_exit_1(args: list[str], no_nvml: None) -> None:
    out = run_process("gpu", *args)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0].startswith("error: no NVIDIA GPU available") and lines[1].startswith("hint: ")
    assert len(lines) == 2 and "Traceback" not in out.stderr and out.stdout == ""


def test_status_json(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake_nvml(
        [make_gpu("0"), make_gpu("0:0", is_mig=True, parent_index="0", power_draw_w=None)],
        {"0:0": [GpuProcessReading(os.getpid(), "0:0", GIB, ["compute"])]},
    )
    result = run_nexus("gpu", "status", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["driver_version"] == "550.54.15"
    mig = data["gpus"][1]
    assert mig["is_mig"] and mig["parent_index"] == "0" and mig["power_draw_w"] is None
    assert mig["processes"][0]["pid"] == os.getpid()
    (command, event_type, _raw) = _gpu_events()[-1]
    assert (command, event_type) == ("gpu status", "gpu")


def test_status_table_is_plain_and_shows_na(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake_nvml([make_gpu("0", temperature_c=None, name=None)])
    result = run_nexus("gpu", "status")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout and "n/a" in result.stdout
    assert "NVIDIA driver 550.54.15" in result.stdout


def test_processes_json_and_table(
    fake_nvml: Callable[..., FakeNvml], start_trainer: Callable[..., Trainer]
) -> None:
    trainer = start_trainer()
    fake_nvml([make_gpu("0")], {"0": [GpuProcessReading(trainer.pid, "0", 5 * GIB, ["compute"])]})
    (row,) = run_nexus("gpu", "processes", "--json").json()["processes"]
    assert row["pid"] == trainer.pid and row["used_memory"] == 5 * GIB
    assert "trainer.py" in row["command"]
    table = run_nexus("gpu", "processes")
    assert str(trainer.pid) in table.stdout and "5.0 GiB" in table.stdout


def test_monitor_once_plain(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake = fake_nvml([make_gpu("0"), make_gpu("1")])
    result = run_nexus("gpu", "monitor", "--once")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("GPUs\n") and result.stdout.count("H100") == 2
    assert "\x1b[" not in result.stdout and fake.closed == 1


def test_impact_without_a_driver_is_cpu_side(
    start_trainer: Callable[..., Trainer], no_nvml: None
) -> None:
    trainer = start_trainer("--epochs", "10")
    out = run_process("gpu", "impact", str(trainer.pid))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith(f"Process Impact Analysis - PID: {trainer.pid}")
    assert "GPU information unavailable" in text
    assert "Child Processes (will also terminate):" in text
    assert "Last saved:" in text and "Cadence: about every" in text
    assert "[G] send SIGUSR1" in text and "Traceback" not in out.stderr


def test_impact_json_with_gpus(
    fake_nvml: Callable[..., FakeNvml], start_trainer: Callable[..., Trainer]
) -> None:
    trainer = start_trainer(env={"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "node0"})
    fake_nvml([make_gpu("0")], {"0": [GpuProcessReading(trainer.pid, "0", 7 * GIB, ["compute"])]})
    result = run_nexus("gpu", "impact", str(trainer.pid), "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["gpu_available"] and data["gpus"][0]["memory_used"] == 7 * GIB
    assert data["distributed"]["rank"] == 1 and data["distributed"]["is_master"] is False
    assert data["work_lost"]["world_size"] == 2 and len(data["process"]["children"]) == 2
    assert data["newest_checkpoint"]["path"].endswith(".pt")
    raw = json.loads(_gpu_events()[-1][2] or "{}")
    assert "impact_analysis_ms" in raw["metrics"]
    (sig,) = [s for s in raw["signals"] if s["kind"] == "gpu_impact"]
    assert sig["gpus"] == 1 and sig["distributed"] is True
    assert str(trainer.ckpt_dir) not in json.dumps(raw)  # no paths in telemetry


def test_impact_action_suspend_resume_with_yes(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    result = run_nexus("gpu", "impact", str(trainer.pid), "--action", "suspend", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["action_result"]["signal"] == "SIGSTOP"
    assert "sent SIGSTOP" in result.stderr
    wait_until(lambda: psutil.Process(trainer.pid).status() == psutil.STATUS_STOPPED)
    result = run_nexus("gpu", "impact", str(trainer.pid), "--action", "resume", "--yes")
    assert result.exit_code == 0, result.stderr
    wait_until(lambda: psutil.Process(trainer.pid).status() != psutil.STATUS_STOPPED)


def test_impact_action_without_a_terminal_needs_yes(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    result = run_nexus("gpu", "impact", str(trainer.pid), "--action", "kill", input="y\n")
    assert result.exit_code == 4
    assert "stdin is not a terminal" in result.stderr and "--yes" in result.stderr
    assert trainer.proc.poll() is None and "sent" not in result.stderr


@pytest.mark.usefixtures("answering_terminal")
def test_impact_action_graceful_needs_confirmation(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    refused = run_nexus("gpu", "impact", str(trainer.pid), "--action", "graceful", input="n\n")
    assert refused.exit_code == 1 and trainer.proc.poll() is None
    accepted = run_nexus("gpu", "impact", str(trainer.pid), "--action", "graceful", input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert trainer.proc.wait(timeout=10) == 0
    assert (trainer.ckpt_dir / "signal_SIGUSR1").exists()


def test_impact_action_refuses_a_reused_pid(start_trainer: Callable[..., Trainer]) -> None:
    trainer = start_trainer()
    earlier = str(psutil.Process(trainer.pid).create_time() - 60)
    result = run_nexus(
        "gpu", "impact", str(trainer.pid), "--action", "kill", "--yes",
        "--expect-create-time", earlier,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "different process" in result.stderr and trainer.proc.poll() is None


def test_impact_of_a_missing_pid() -> None:
    result = run_nexus("gpu", "impact", str(2**22 + 3))
    assert result.exit_code == 1 and result.stderr.startswith("error: no process with PID")


def test_gpu_impact_imports_no_rich_and_no_docker(start_trainer: Callable[..., Trainer]) -> None:
    import subprocess

    trainer = start_trainer()
    code = (
        "import sys\nfrom nexus_cli.cli import main\n"
        f"main(['gpu', 'impact', '{trainer.pid}', '--json'])\n"
        "print('HEAVY=' + ','.join(m for m in ('rich', 'docker', 'git', 'yaml', 'sqlite_utils')"
        " if m in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "HEAVY=", out.stderr


def test_another_user_cannot_signal_our_trainer(
    start_trainer: Callable[..., Trainer], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A real second user (nobody) runs nexus against our trainer: analysis yes, signals no."""
    import subprocess

    if os.getuid() != 0:
        pytest.skip("needs root to run nexus as another user")
    trainer = start_trainer()
    home = tmp_path_factory.mktemp("nobody-home")
    home.chmod(0o777)
    # The venv's interpreter may live under /root; a system Python of the same version can run
    # this checkout with the venv's packages.
    import sysconfig

    python = shutil.which(f"python{sys.version_info[0]}.{sys.version_info[1]}", path="/usr/bin")
    if python is None:
        pytest.skip("no system python of this version to run as another user")
    paths_ = sysconfig.get_paths()
    packages = os.pathsep.join([str(REPO_ROOT), paths_["purelib"], paths_["platlib"]])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NEXUS_HOME": str(home)}
    env["PYTHONPATH"] = packages
    cmd = [python, "-m", "nexus_cli", "gpu", "impact", str(trainer.pid)]
    as_nobody = {"user": 65534, "group": 65534, "cwd": "/", "env": env, "timeout": 60}
    seen = subprocess.run([*cmd, "--json"], capture_output=True, text=True, **as_nobody)
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout)["environment_readable"] is False
    refused = subprocess.run(
        [*cmd, "--action", "kill", "--yes"], capture_output=True, text=True, **as_nobody
    )
    assert refused.returncode == 1 and "belongs to another user" in refused.stderr
    assert trainer.proc.poll() is None


def test_names_from_proc_are_escaped_for_the_terminal(fake_nvml: Callable[..., FakeNvml]) -> None:
    """A command line holding escape sequences (set the title, clear the screen) is shown inert."""
    hostile = "\x1b]0;owned\x07\x1b[2J"
    proc = subprocess.Popen(["sh", "-c", "sleep 60; :", hostile])
    try:
        wait_until(lambda: hostile in " ".join(psutil.Process(proc.pid).cmdline()))
        fake_nvml([make_gpu("0")], {"0": [GpuProcessReading(proc.pid, "0", GIB, ["compute"])]})
        for args in (["gpu", "processes"], ["gpu", "impact", str(proc.pid)]):
            out = run_nexus(*args).stdout
            assert "\x1b" not in out and "\x07" not in out
            assert "^[]0;owned^G^[[2J" in out
        raw = run_nexus("gpu", "processes", "--json").json()["processes"][0]["command"]
        assert hostile in raw  # --json keeps the raw string
    finally:
        proc.kill()
        proc.wait()
