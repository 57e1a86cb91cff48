"""Project personas and the lock are repository content: untrusted. Nothing they name may land
in .git, in .nexus, outside the root, or behind a committed symlink."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_cli.personas.safety import PathEscapeError, check_relative, resolve_inside
from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona


def _evil(project: Path, target: str) -> None:
    write_persona(
        project / ".nexus" / "personas" / "evil",
        f"name: evil\nfiles:\n  - source: hook.sh\n    target: {json.dumps(target)}\n",
        {"hook.sh": "#!/bin/sh\ntouch /tmp/pwned\n"},
    )


def _refused(project: Path, *expected: str) -> str:
    before = tree(project)
    hooks = sorted(os.listdir(project / ".git" / "hooks"))
    result = run_nexus("persona", "add", "evil")
    assert result.exit_code == 1, result.stdout
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert tree(project) == before
    assert sorted(os.listdir(project / ".git" / "hooks")) == hooks
    assert not (project / ".nexus" / "personas.lock").exists()
    return result.stderr


GIT_SPELLINGS = [
    ".git/hooks/post-checkout",
    ".GIT/hooks/post-checkout",
    "./.git/hooks/post-checkout",
    "x/../.git/hooks/post-checkout",
    ".git./hooks/post-checkout",
    ".git /hooks/post-checkout",
    ".git/",
    ".git",
    "%2egit/hooks/post-checkout",
    "%2Egit/hooks/post-checkout",
    ".g%69t/hooks/post-checkout",
    ".git\\hooks\\post-checkout",
    "sub/.git/config",
    "GIT~1/hooks/post-checkout",
    ".Ｇit/hooks/post-checkout",  # fullwidth G: NFKC folds it to .git
]


@pytest.mark.parametrize("target", GIT_SPELLINGS)
def test_a_target_in_git_is_refused_in_any_spelling(project: Path, target: str) -> None:
    _evil(project, target)
    _refused(project, "files[0].target")
    assert not (project / ".git" / "hooks" / "post-checkout").exists()


@pytest.mark.parametrize("target", [".nexus/personas.lock", ".NEXUS/x", ".nexus./x", "./.nexus"])
def test_a_target_in_nexus_state_is_refused(project: Path, target: str) -> None:
    _evil(project, target)
    _refused(project, "files[0].target")


def test_a_nul_in_a_target_is_refused(project: Path) -> None:
    _evil(project, "scripts/run.sh\x00.md")
    _refused(project, "files[0].target")


def test_a_committed_symlink_is_never_written_through(project: Path) -> None:
    (project / "real-docs").mkdir()
    os.symlink("real-docs", project / "docs")  # inside the project, but a link
    before = tree(project)
    result = run_nexus("persona", "add", "software-architect")
    assert result.exit_code == 1
    assert "docs/adr/0000-template.md passes through a symbolic link" in result.stderr
    assert tree(project) == before
    assert list((project / "real-docs").iterdir()) == []


def test_a_symlink_into_git_is_refused(project: Path) -> None:
    os.symlink(".git/hooks", project / "scripts")
    before = tree(project)
    result = run_nexus("persona", "add", "data-scientist")
    assert result.exit_code == 1
    assert "resolves into .git" in result.stderr or "symbolic link" in result.stderr
    assert tree(project) == before
    assert not (project / ".git" / "hooks" / "gpu_monitor.sh").exists()


def test_a_file_symlink_at_the_target_is_refused(project: Path) -> None:
    (project / "scripts").mkdir()
    os.symlink("../.git/hooks/post-checkout", project / "scripts" / "gpu_monitor.sh")
    result = run_nexus("persona", "add", "data-scientist")
    assert result.exit_code == 1
    assert not (project / ".git" / "hooks" / "post-checkout").exists()


def test_global_accepts_a_dotfiles_symlink_inside_home(project: Path, isolated_home: Path) -> None:
    dotfiles = isolated_home / "dotfiles" / "claude"
    dotfiles.mkdir(parents=True)
    os.symlink(dotfiles, isolated_home / ".claude")
    result = run_nexus("persona", "add", "designer", "--global", "--target", "claude")
    assert result.exit_code == 0, result.stderr
    assert (dotfiles / "agents" / "designer.md").is_file()
    assert run_nexus("persona", "remove", "designer", "--global").exit_code == 0
    assert sorted(os.listdir(dotfiles)) == []


def _lock(project: Path, data: dict[str, object]) -> None:
    full = {"version": 1, "personas": {}, "files": {}, "dirs": {}, "blocks": {}, "settings": {}}
    full.update(data)
    (project / ".nexus" / "personas.lock").write_text(json.dumps(full))


@pytest.mark.parametrize("name", ["../../etc", "Evil", "a b", "x" * 80, "", "-x"])
def test_a_persona_name_in_the_lock_must_be_valid(project: Path, name: str) -> None:
    _lock(project, {"personas": {name: {"level": None, "targets": ["agents"]}}})
    result = run_nexus("persona", "current")
    assert result.exit_code == 1
    assert "personas.lock" in result.stderr and "persona name" in result.stderr


def test_an_invalid_owner_in_the_lock_is_refused(project: Path) -> None:
    _lock(project, {"files": {"a.md": {"sha256": "0", "owner": "../x"}}})
    result = run_nexus("persona", "current")
    assert result.exit_code == 1
    assert "persona name" in result.stderr


def test_a_lock_pointing_into_git_deletes_nothing(project: Path) -> None:
    hook = project / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\n")
    import hashlib

    digest = hashlib.sha256(hook.read_bytes()).hexdigest()
    _lock(
        project,
        {
            "personas": {"evil": {"level": None, "targets": ["agents"]}},
            "files": {".git/hooks/post-checkout": {"sha256": digest, "owner": "evil"}},
        },
    )
    result = run_nexus("persona", "remove", "evil")
    assert result.exit_code == 1
    assert "inside .git" in result.stderr
    assert hook.read_text() == "#!/bin/sh\n"


@pytest.mark.parametrize("persona", ["software-architect", "gone"])
def test_a_committed_lock_cannot_get_a_source_file_deleted(project: Path, persona: str) -> None:
    """Issue #25, cause 1: a lock that lists ``src/main.py`` with its real hash, owned by an
    installed persona (or one that no longer exists), deletes nothing: Nexus deletes only files
    whose path the persona renders and whose bytes are its render or what it installed."""
    import hashlib

    source = project / "src" / "main.py"
    source.parent.mkdir()
    source.write_text("print('mine')\n")
    if persona != "gone":
        added = run_nexus("persona", "add", persona, "--target", "agents")
        assert added.exit_code == 0, added.stderr
    lock = (
        json.loads((project / ".nexus" / "personas.lock").read_text()) if persona != "gone" else {}
    )
    lock.setdefault("version", 1)
    lock.setdefault("personas", {})[persona] = {"level": None, "targets": ["agents"]}
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    lock.setdefault("files", {})["src/main.py"] = {"sha256": digest, "owner": persona}
    (project / ".nexus" / "personas.lock").write_text(json.dumps(lock))

    result = run_nexus("persona", "remove", persona)

    assert result.exit_code == 0, result.stderr
    assert source.read_text() == "print('mine')\n"
    assert "kept src/main.py" in result.stderr
    assert not (project / ".nexus" / "personas.lock").exists()  # forgotten, not deleted
    if persona != "gone":
        assert not (project / "AGENTS.md").exists()  # what the persona did write is removed


def test_a_damaged_lock_entry_is_a_state_error(project: Path) -> None:
    _lock(project, {"files": {"a.md": {"sha256": "0"}}})
    result = run_nexus("persona", "current")
    assert result.exit_code == 1
    assert "the persona lock is damaged" in result.stderr


def test_a_command_file_name_must_be_a_plain_name(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "evil",
        "name: evil\ncommands: [commands/Fix It.md]\n",
        {"commands/Fix It.md": "---\n---\nx\n"},
    )
    result = run_nexus("persona", "add", "evil")
    assert result.exit_code == 1
    assert "command file names must be lowercase names" in result.stderr


# --- check_relative: exact refusals (these killed the surviving mutants) -------------------


def test_backslash_and_nul_are_refused_with_the_path_named() -> None:
    for rel in ("a\\b", "\\x", "a\x00b", "%00x", "a/%00"):
        with pytest.raises(PathEscapeError) as info:
            check_relative(rel, "where")
        assert info.value.message == f"where: invalid path {rel!r}"


def test_a_plain_path_is_normalised_not_refused() -> None:
    assert check_relative("./a//b/./c.md", "w") == "a/b/c.md"
    assert check_relative("git/x", "w") == "git/x"  # only .git is special
    assert check_relative(".github/x", "w") == ".github/x"
    assert check_relative(".gitignore", "w") == ".gitignore"
    assert check_relative("a.nexus/x", "w") == "a.nexus/x"
    assert check_relative(".nexusX/x", "w") == ".nexusX/x"  # only dots and spaces are cut
    assert check_relative("X/y", "w") == "X/y"


def test_resolve_inside_refuses_links_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink("real", tmp_path / "link")
    assert resolve_inside(tmp_path, "link/f", "w") == (tmp_path / "real" / "f").resolve()
    with pytest.raises(PathEscapeError, match="passes through a symbolic link"):
        resolve_inside(tmp_path, "link/f", "w", no_symlinks=True)


_CASED = st.lists(st.booleans(), min_size=3, max_size=3).map(
    lambda flags: "." + "".join(c.upper() if up else c for c, up in zip("git", flags, strict=True))
)
_DOT = st.sampled_from([".", "%2e", "%2E"])
_GIT = st.builds(
    lambda cased, dot, tail: dot + cased[1:] + tail,
    _CASED,
    _DOT,
    st.sampled_from(["", ".", "..", " ", ". ", "/", "//"]),
)
_PREFIX = st.sampled_from(["", "./", "a/", "a/b/", "././"])
_SUFFIX = st.sampled_from(["", "/hooks/post-checkout", "/config", "/x/"])


@given(prefix=_PREFIX, git=_GIT, suffix=_SUFFIX)
def test_every_spelling_of_git_is_refused(prefix: str, git: str, suffix: str) -> None:
    with pytest.raises(PathEscapeError):
        check_relative(prefix + git + suffix, "w")


@given(
    parts=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    )
)
def test_every_plain_path_is_accepted_as_is(parts: list[str]) -> None:
    rel = "/".join(parts)
    assert check_relative(rel, "w") == rel


def test_global_writes_only_into_the_assistants_folders(project: Path, isolated_home: Path) -> None:
    from nexus_cli.paths import user_config_dir

    bashrc = isolated_home / ".bashrc"
    bashrc.write_text("mine\n")
    import hashlib

    lock = user_config_dir() / "personas.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(b"mine\n").hexdigest()
    lock.write_text(
        json.dumps(
            {
                "version": 1,
                "personas": {"evil": {"level": None, "targets": ["agents"]}},
                "files": {".bashrc": {"sha256": digest, "owner": "evil"}},
                "dirs": {},
                "blocks": {},
                "settings": {},
            }
        )
    )
    result = run_nexus("persona", "remove", "evil", "--global")
    assert result.exit_code == 1
    assert ".bashrc is outside .claude, .codex" in result.stderr
    assert bashrc.read_text() == "mine\n"


def test_unknown_targets_in_the_lock_are_a_clear_error(project: Path) -> None:
    _lock(project, {"personas": {"testing": {"level": None, "targets": ["../x"]}}})
    result = run_nexus("persona", "add", "testing")
    assert result.exit_code == 1
    assert "the persona lock records unknown targets ['../x']" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("rel", "message"),
    [
        ("", "w: invalid path ''"),
        (".", "w: invalid path '.'"),
        ("./.", "w: invalid path './.'"),
        ("/etc/passwd", "w: absolute path '/etc/passwd' refused"),
        ("~/x", "w: absolute path '~/x' refused"),
        ("../x", "w: path '../x' leaves its folder ('..' refused)"),
        ("a/%2e%2e/x", "w: path 'a/%2e%2e/x' leaves its folder ('..' refused)"),
        ("a/. ./x", "w: path 'a/. ./x' leaves its folder ('..' refused)"),
        ("a/.../x", "w: path 'a/.../x' leaves its folder ('..' refused)"),
        (".git/config", "w: path '.git/config' is inside .git; refused"),
        (".Git/config", "w: path '.Git/config' is inside .git; refused"),
        (".nexus/x", "w: path '.nexus/x' is inside Nexus's own state (.nexus/)"),
        ("a/.NeXus/x", "w: path 'a/.NeXus/x' is inside Nexus's own state (.nexus/)"),
        ("%2enexus/x", "w: path '%2enexus/x' is inside Nexus's own state (.nexus/)"),
        (".nexus /x", "w: path '.nexus /x' is inside Nexus's own state (.nexus/)"),
    ],
)
def test_each_refusal_says_why(rel: str, message: str) -> None:
    with pytest.raises(PathEscapeError) as info:
        check_relative(rel, "w")
    assert info.value.message == message


def test_resolve_inside_messages_name_the_path_and_the_hint(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    os.symlink("../out", root / "away")
    os.symlink("real", root / "link")
    os.symlink(".git", root / "g")
    (root / ".git").mkdir()
    with pytest.raises(PathEscapeError) as info:
        resolve_inside(root, "away/f", "w")
    assert info.value.message == f"w: 'away/f' resolves outside {root} (symlink escape refused)"
    assert info.value.hint and "symbolic links included" in info.value.hint
    with pytest.raises(PathEscapeError) as info:
        resolve_inside(root, "g/hooks/x", "w")
    assert info.value.message == "w: g/hooks/x resolves into .git; refused"
    with pytest.raises(PathEscapeError) as info:
        resolve_inside(root, "./link//f", "w", no_symlinks=True)
    assert info.value.message == (
        "w: link/f passes through a symbolic link; Nexus does not write through links"
    )
    assert info.value.hint == "replace the link with a real folder or file, or remove it"
    assert resolve_inside(root, "real/f", "w", no_symlinks=True) == root / "real" / "f"
    assert resolve_inside(root, "./real//f", "w") == root / "real" / "f"
