"""A NON-editable install into a fresh venv works from an unrelated folder and finds its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, git


def _files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.slow
def test_wheel_install_from_another_folder(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    nexus = env_dir / "bin" / "nexus"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}

    def run(*args: str, cwd: Path = elsewhere) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(nexus), *args], cwd=cwd, env=env, capture_output=True, text=True)

    assert run("--version").stdout.startswith("nexus ")
    info = json.loads(run("version", "--json").stdout)
    site = subprocess.run(
        [str(python), "-c", "import nexus_cli; print(nexus_cli.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    assert str(env_dir) in site, "the installed copy must be the one imported"
    for name in ("templates", "personas", "workflows"):
        shipped = Path(info["data"][name])
        assert str(env_dir) in str(shipped)
        assert _files(shipped) == _files(REPO_ROOT / name)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    assert run("init", cwd=repo).returncode == 0
    assert (repo / ".nexus" / "config.yaml").is_file()
    doctor = run("doctor", "--json", cwd=repo)
    assert "ok" in json.loads(doctor.stdout)
    assert sys.executable != str(python)


# Distribution name -> the module it installs, where the two differ.
IMPORT_NAMES = {"nvidia-ml-py": "pynvml", "pyyaml": "yaml"}


def test_every_declared_dependency_is_imported() -> None:
    """A runtime dependency nothing imports is one more package to install for nothing."""
    import re
    import tomllib

    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "nexus_cli").rglob("*.py"))
    unused = []
    for requirement in declared:
        dist = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()
        module = IMPORT_NAMES.get(dist, dist.replace("-", "_"))
        if not re.search(rf"^\s*(import|from) {re.escape(module)}\b", source, re.MULTILINE):
            unused.append(dist)
    assert unused == []
