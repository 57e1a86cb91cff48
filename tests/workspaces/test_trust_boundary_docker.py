"""Issue 10, workspaces, against the real Docker engine: bind mounts, the git dir, project ids,
concurrent and interrupted creates, health. Kept few and short (shared CPUs)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, nexus_exe, run_nexus

pytestmark = pytest.mark.docker

SLEEPER = "services:\n  app:\n    image: {image}\n    command: ['sleep', '3600']\n"


def _template(root: Path, name: str, text: str) -> Path:
    path = root / ".nexus" / "templates" / f"{name}.yaml"
    path.write_text(text)
    return path


def _objects(client: Any, project_id: str, workspace: str) -> dict[str, list[Any]]:
    label = {"label": [f"dev.nexus.project={project_id}", f"dev.nexus.workspace={workspace}"]}
    return {
        # sparse: one list request, no inspect of each (one removed meanwhile is not an error)
        "containers": client.containers.list(all=True, filters=label, sparse=True),
        "networks": client.networks.list(filters=label),
        "volumes": client.volumes.list(filters=label),
    }


def _nothing_left(root: Path, client: Any, workspace: str) -> None:
    pid = find_project(root).project_id()
    assert _objects(client, pid, workspace) == {"containers": [], "networks": [], "volumes": []}
    assert not (root / ".nexus" / "worktrees" / workspace).exists()
    assert git(root, "branch", "--list", workspace) == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_bind_mount_through_a_committed_symlink_to_root_is_refused(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    os.symlink("/", ws_project / "seed")
    git(ws_project, "add", "seed")
    git(ws_project, "commit", "-qm", "seed")
    template = _template(
        ws_project,
        "seeded",
        SLEEPER.format(image=test_image) + "    volumes: ['./seed:/seed']\n",
    )
    result = run_nexus("workspace", "create", "s", "-t", "seeded")
    assert result.exit_code == 1
    assert f"{template}: services.app.volumes (./seed:/seed)" in result.stderr
    assert "resolves outside" in result.stderr
    _nothing_left(ws_project, docker_client, "s")  # no container ever saw /


def test_container_cannot_change_hooks_config_or_the_git_dir_location(
    ws_project: Path, test_image: str
) -> None:
    _template(ws_project, "plain", SLEEPER.format(image=test_image))
    created = run_nexus("workspace", "create", "g", "-t", "plain")
    assert created.exit_code == 0, created.stderr
    common = ws_project / ".git"
    attacks = {
        "hook": f"echo 'touch /tmp/pwned' > {common}/hooks/post-checkout",
        "config": f"printf '[core]\\nhooksPath=/workspace\\n' >> {common}/config",
        "dotgit": "echo 'gitdir: /workspace/evil' > /workspace/.git",
        "commondir": f"echo /workspace/evil > {common}/worktrees/g/commondir",
        "config.worktree": f"echo '[core]' > {common}/worktrees/g/config.worktree",
    }
    dotgit = (ws_project / ".nexus" / "worktrees" / "g" / ".git").read_text()
    commondir = (common / "worktrees" / "g" / "commondir").read_text()
    for what, command in attacks.items():
        result = run_nexus("workspace", "exec", "g", "--", "sh", "-c", command)
        # The exit code says the write failed. Its message ("Read-only file system") is not
        # asserted: the engine can drop the output of a short exec (moby/moby#27289).
        assert result.exit_code != 0, what
    assert not (common / "hooks" / "post-checkout").exists()
    assert "hooksPath" not in (common / "config").read_text()
    assert (ws_project / ".nexus" / "worktrees" / "g" / ".git").read_text() == dotgit
    assert (common / "worktrees" / "g" / "commondir").read_text() == commondir
    assert (common / "worktrees" / "g" / "config.worktree").read_text() == ""
    # what `git commit` needs is writable: objects, refs, the worktree's index and HEAD
    ok = run_nexus(
        "workspace",
        "exec",
        "g",
        "--",
        "sh",
        "-c",
        f"touch {common}/objects/.probe {common}/refs/heads/.probe {common}/worktrees/g/.probe"
        f" && ls {common}/worktrees | wc -l",
    )
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout.strip() == "1"  # other worktrees' admin folders are not mounted
    for probe in ("objects/.probe", "refs/heads/.probe", "worktrees/g/.probe"):
        (common / probe).unlink()


def test_missing_project_id_with_containers_names_the_repair(
    ws_project: Path, test_image: str, docker_client: Any, cleanup_docker: list[str]
) -> None:
    old = secrets.token_hex(4)  # its own id: a suite running beside this one cleans up its own
    cleanup_docker.append(old)
    worktree = ws_project / ".nexus" / "worktrees" / "orphan"
    worktree.mkdir(parents=True)
    docker_client.containers.create(
        test_image,
        ["sleep", "1"],
        name=f"nexus-{old}-orphan-app",
        labels={"dev.nexus.project": old, "dev.nexus.managed": "true"},
        volumes={str(worktree): {"bind": "/workspace", "mode": "rw"}},
    )
    path = ws_project / ".nexus" / "state" / "project-id"
    path.unlink()
    result = run_nexus("workspace", "list")
    assert result.exit_code == 1
    assert f"containers of this project use id {old}" in result.stderr
    assert f"nexus workspace repair --adopt-project-id {old}" in result.stderr
    assert not path.exists()  # no new id was made up
    path.write_text("garbage!\n")
    corrupt = run_nexus("workspace", "list")
    assert corrupt.exit_code == 1 and f"--adopt-project-id {old}" in corrupt.stderr
    assert run_nexus("workspace", "repair", "--adopt-project-id", old).exit_code == 0
    assert path.read_text() == f"{old}\n"


def test_four_simultaneous_creates_of_one_name_have_one_winner(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    _template(ws_project, "plain", SLEEPER.format(image=test_image))
    procs = [
        subprocess.Popen(
            [*nexus_exe(), "workspace", "create", "same", "-t", "plain"],
            cwd=ws_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert sorted(code for code, _ in outcomes) == [0, 1, 1, 1], outcomes
    for code, stderr in outcomes:
        assert "Traceback" not in stderr and "Exception in thread" not in stderr
        if code:
            assert "workspace 'same' already exists" in stderr
    pid = find_project(ws_project).project_id()
    assert len(_objects(docker_client, pid, "same")["networks"]) == 1
    assert run_nexus("workspace", "status", "same", "--json").json()["state"] == "running"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_create_removes_what_it_made(
    ws_project: Path, test_image: str, docker_client: Any, sig: int, code: int
) -> None:
    _template(
        ws_project,
        "slow",
        SLEEPER.format(image=test_image)
        + "    volumes: ['data:/data']\n"
        + "    healthcheck: {test: 'false', interval: 1s, retries: 1000}\n",
    )
    proc = subprocess.Popen(
        [*nexus_exe(), "workspace", "create", "intr", "-t", "slow", "--health-timeout", "60"],
        cwd=ws_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid = find_project(ws_project).project_id()
    deadline = time.monotonic() + 60
    while not any(
        c.status == "running" for c in _objects(docker_client, pid, "intr")["containers"]
    ):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == code
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    _nothing_left(ws_project, docker_client, "intr")
    home = Path(os.environ["NEXUS_HOME"])
    table = json.loads((home / "ports.json").read_text()) if (home / "ports.json").exists() else {}
    assert [a for a in table.get("allocations", []) if a["workspace"] == "intr"] == []


def test_unhealthy_dependency_fails_create_and_up_and_dependants_never_start(
    ws_project: Path, test_image: str, docker_client: Any
) -> None:
    _template(
        ws_project,
        "chain",
        f"services:\n  db:\n    image: {test_image}\n    command: ['sleep', '3600']\n"
        "    healthcheck: {test: 'false', interval: 100ms, retries: 2}\n"
        f"  web:\n    image: {test_image}\n    command: ['sleep', '3600']\n"
        "    depends_on: [db]\n",
    )
    pid = find_project(ws_project).project_id()
    web = f"nexus-{pid}-c-web"
    created = run_nexus(
        "workspace", "create", "c", "-t", "chain", "--keep-on-failure", "--health-timeout", "5"
    )
    assert created.exit_code == 1
    assert "service 'db' is unhealthy" in created.stderr
    assert "hint: see `nexus workspace logs c db`" in created.stderr  # kept: its logs are there
    assert docker_client.containers.get(web).status != "running"
    up = run_nexus("workspace", "up", "c", "--health-timeout", "5")
    assert up.exit_code == 1, up.stderr
    assert "service 'db' is unhealthy" in up.stderr
    assert "hint: see `nexus workspace logs c db`" in up.stderr
    assert docker_client.containers.get(web).status != "running"


def test_service_that_exits_fails_create(ws_project: Path, test_image: str) -> None:
    _template(
        ws_project,
        "quits",
        f"services:\n  app:\n    image: {test_image}\n    command: ['sh', '-c', 'exit 3']\n",
    )
    result = run_nexus("workspace", "create", "q", "-t", "quits")
    assert result.exit_code == 1
    assert "service 'app' exited with code 3" in result.stderr
    assert not (ws_project / ".nexus" / "worktrees" / "q").exists()


def test_logs_show_escape_sequences_and_markup_literally(ws_project: Path, test_image: str) -> None:
    printer = r"printf '\\033]0;pwn\\007 [red]x[/]\\tend\\r\\n'; exec sleep 3600"
    _template(
        ws_project,
        "noisy",
        f'services:\n  app:\n    image: {test_image}\n    command: ["sh", "-c", "{printer}"]\n',
    )
    assert run_nexus("workspace", "create", "n", "-t", "noisy").exit_code == 0
    logs = run_nexus("workspace", "logs", "n")
    assert logs.exit_code == 0, logs.stderr
    assert logs.stdout == "^[]0;pwn^G [red]x[/]\tend\n"  # visible, tab kept, no stray ^M


def _host_git_mounts() -> dict[str, dict[str, str]]:
    """The host's git binary, its exec path and shared libraries, read-only (busybox has no git)."""
    binary = shutil.which("git")
    if binary is None:
        pytest.skip("no git binary on the host")
    real = os.path.realpath(binary)
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True).stdout
    ldd = subprocess.run(["ldd", real], capture_output=True, text=True).stdout
    paths = {real, exec_path.strip(), "/usr/share/git-core"}
    for line in ldd.splitlines():
        for word in line.split():
            if word.startswith("/"):
                paths.update({os.path.dirname(word), os.path.dirname(os.path.realpath(word))})
    return {p: {"bind": p, "mode": "ro"} for p in paths if os.path.exists(p)}


def test_git_commit_works_in_a_container_but_config_and_hooks_do_not(
    project: Path, test_image: str, docker_client: Any
) -> None:
    from nexus_cli.workspaces import git_worktrees
    from nexus_cli.workspaces.docker_services import git_mounts
    from nexus_cli.workspaces.handle import Workspace

    nexus_project = find_project(project)
    worktree, _ = git_worktrees.create_worktree(Workspace(nexus_project, "g"), None)
    (worktree / "a.txt").write_text("hi\n")
    common = nexus_project.git_common_dir
    mounts = {str(worktree): {"bind": "/workspace", "mode": "rw"}}
    mounts.update(git_mounts(worktree, common, "g"))
    mounts.update(_host_git_mounts())
    git_bin = os.path.realpath(str(shutil.which("git")))
    script = (
        f"export HOME=/tmp G={git_bin}; cd /workspace && $G config --global safe.directory '*'"
        " && $G add a.txt && $G -c user.name=c -c user.email=c@d commit -qm inside && echo ok;"
        f" $G config core.hooksPath /x || echo config-refused;"
        f" echo x > {common}/hooks/post-commit || echo hook-refused"
    )
    out = docker_client.containers.run(
        test_image, ["sh", "-c", script], volumes=mounts, remove=True, stderr=True
    ).decode()
    assert "ok" in out.splitlines()
    assert "config-refused" in out and "hook-refused" in out
    assert git(project, "log", "-1", "--format=%s", "g").strip() == "inside"
    assert "hooksPath" not in (common / "config").read_text()
    assert not (common / "hooks" / "post-commit").exists()


# Every spelling of a bind mount that shows the worktree's .git file (issue 25, cause 2).
POINTER_SPELLINGS = {
    ".": "/m/dot",
    "./": "/m/dot-slash",
    "./here": "/m/link-to-dot",  # here -> .
    "./pointer": "/m/link-to-git",  # pointer -> .git (the file itself)
    "./.git": "/m/git-file",
}


def test_no_mount_spelling_lets_a_container_rewrite_the_git_pointer(
    ws_project: Path, test_image: str
) -> None:
    os.symlink(".", ws_project / "here")
    os.symlink(".git", ws_project / "pointer")
    git(ws_project, "add", "here", "pointer")
    git(ws_project, "commit", "-qm", "links")
    volumes = ", ".join(f"'{src}:{dst}'" for src, dst in POINTER_SPELLINGS.items())
    _template(ws_project, "wide", SLEEPER.format(image=test_image) + f"    volumes: [{volumes}]\n")
    created = run_nexus("workspace", "create", "p", "-t", "wide")
    assert created.exit_code == 0, created.stderr
    dotgit = ws_project / ".nexus" / "worktrees" / "p" / ".git"
    pointer = dotgit.read_text()
    targets = [*POINTER_SPELLINGS.values(), "/workspace/.git"]
    for target in targets:
        path = target if target.endswith(".git") else f"{target}/.git"
        for attack in (f"echo 'gitdir: /tmp' > {path}", f"rm -f {path}", f"mv {path} {path}.x"):
            result = run_nexus("workspace", "exec", "p", "--", "sh", "-c", attack)
            assert result.exit_code != 0, (target, attack)
    assert dotgit.read_text() == pointer
    # the mounts themselves still work: the worktree is writable through each folder mount
    probes = " && ".join(f"touch {t}/probe-{i}" for i, t in enumerate(targets[:3]))
    ok = run_nexus("workspace", "exec", "p", "--", "sh", "-c", f"{probes} && ls /workspace")
    assert ok.exit_code == 0, ok.stderr
    assert {p.name for p in dotgit.parent.glob("probe-*")} == {"probe-0", "probe-1", "probe-2"}
    status = run_nexus("workspace", "status", "p", "--json").json()
    assert (status["worktree"], status["state"]) == ("ok", "running")


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ("'./sub/..:/m'", "a bind source inside the worktree (no '..')"),
        ("'{worktree}:/m'", "a volume name"),
        ("{{type: bind, source: ., target: /m}}", "NAME:/container/path"),
        ("'./up:/m'", "resolves outside"),  # up -> .. (the folder above the worktree)
    ],
)
def test_mounts_that_cannot_be_guarded_are_refused(
    ws_project: Path, test_image: str, docker_client: Any, volume: str, message: str
) -> None:
    os.symlink("..", ws_project / "up")
    git(ws_project, "add", "up")
    git(ws_project, "commit", "-qm", "up")
    worktree = ws_project / ".nexus" / "worktrees" / "r"
    spec = volume.format(worktree=worktree)
    _template(ws_project, "wide", SLEEPER.format(image=test_image) + f"    volumes: [{spec}]\n")
    result = run_nexus("workspace", "create", "r", "-t", "wide")
    assert result.exit_code != 0
    assert message in result.stderr, result.stderr
    _nothing_left(ws_project, docker_client, "r")
