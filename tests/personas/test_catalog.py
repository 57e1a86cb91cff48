"""The shipped catalog is complete and valid; layers, extends and the create scaffold."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nexus_cli.errors import ConfigError, ConflictError, NotFoundError, UsageError
from nexus_cli.personas import catalog
from nexus_cli.personas.catalog import layers, load, load_all
from nexus_cli.personas.scaffold import create
from nexus_cli.personas.schema import parse_persona
from nexus_cli.resources import data_dir
from tests.personas.conftest import write_persona

SHIPPED = {
    "data-scientist": {"gpu-optimize", "parallel-explain", "process-impact"},
    "software-architect": {"architecture-review", "performance-audit"},
    "developer": {"fix-bug", "write-tests", "review-changes"},
    "product-manager": {"generate-prd", "user-stories", "acceptance-criteria", "release-notes"},
    "designer": {"mock-screen", "design-system", "accessibility-audit", "component-spec"},
    "backend": set(),
    "frontend": set(),
    "testing": set(),
    "devops": set(),
    "observability": set(),
}


def test_every_shipped_persona_loads_with_its_commands() -> None:
    personas = {p.name: p for p in load_all(layers(None))}
    assert set(SHIPPED) <= set(personas)
    for name, commands in SHIPPED.items():
        persona = personas[name]
        assert persona.origin == "builtin"
        assert persona.instructions.strip(), name
        assert commands <= {c.stem for c in persona.commands}, name
        assert persona.commands, name


def test_developer_has_four_levels() -> None:
    developer = load("developer", layers(None))
    assert list(developer.levels) == ["beginner", "l1", "l2", "expert"]
    assert developer.pick_level(None).name == "l1"
    with pytest.raises(UsageError, match="no level 'l9'"):
        developer.pick_level("l9")
    with pytest.raises(UsageError, match="no skill levels"):
        load("designer", layers(None)).pick_level("l2")


def _command_files() -> list[Path]:
    return sorted(data_dir("personas").glob("*/**/commands/*.md"))


@pytest.mark.parametrize("path", _command_files(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_command_file_has_frontmatter_and_a_real_body(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("---\n")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert set(meta) == {"description", "argument-hint", "allowed-tools"}
    assert all(isinstance(v, str) and v.strip() for v in meta.values())
    assert len(body.split()) >= 40, "a command needs real instructions"


def test_data_scientist_scripts_call_nexus_gpu() -> None:
    scripts = data_dir("personas") / "data-scientist" / "scripts"
    assert "exec nexus gpu monitor" in (scripts / "gpu_monitor.sh").read_text()
    assert 'exec nexus gpu impact "$@"' in (scripts / "analyze_process_impact.sh").read_text()


def test_project_persona_overrides_user_and_builtin(tmp_path: Path, isolated_home: Path) -> None:
    project = tmp_path / "p"
    user = catalog.layers(project)[1].folder
    write_persona(user / "designer", "name: designer\ndisplay_name: User designer\n")
    write_persona(project / ".nexus/personas/designer", "name: designer\ndisplay_name: Ours\n")
    assert load("designer", layers(project)).display_name == "Ours"
    assert load("designer", layers(project, include_project=False)).display_name == "User designer"
    assert catalog.available(layers(project))["designer"].origin == "project"


def test_extends_another_persona_and_cycles_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "p"
    folder = root / ".nexus/personas"
    write_persona(folder / "ml-lead", "name: ml-lead\nextends: data-scientist\n")
    lead = load("ml-lead", layers(root))
    assert {c.stem for c in lead.commands} == SHIPPED["data-scientist"]
    assert lead.files and lead.extends == "data-scientist"
    write_persona(folder / "a", "name: a\nextends: b\n")
    write_persona(folder / "b", "name: b\nextends: a\n")
    with pytest.raises(Exception, match="cycle"):
        load("a", layers(root))


def test_create_scaffold_is_a_valid_persona_and_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "p"
    dest = root / ".nexus/personas"
    folder = create("my-role", None, dest, layers(root))
    persona = load("my-role", layers(root))
    assert persona.origin == "project" and [c.stem for c in persona.commands] == ["checklist"]
    assert folder == dest / "my-role"
    with pytest.raises(ConflictError):
        create("my-role", None, dest, layers(root))
    create("developer", "developer", dest, layers(root))
    custom = load("developer", layers(root))
    assert custom.origin == "project" and "expert" in custom.levels
    assert {"fix-bug", "checklist"} <= {c.stem for c in custom.commands}


def test_completion_source_lists_persona_names(project: Path) -> None:
    from nexus_cli.completion import candidates

    assert candidates("persona", "d") == ["data-scientist", "designer", "developer", "devops"]


def test_an_alias_loads_the_persona_it_names(tmp_path: Path, isolated_home: Path) -> None:
    assert load("architect", layers(tmp_path)).name == "software-architect"


def test_a_real_name_wins_over_another_personas_alias(tmp_path: Path, isolated_home: Path) -> None:
    root = tmp_path / "p"
    write_persona(root / ".nexus/personas/architect", "name: architect\ndisplay_name: Ours\n")
    write_persona(root / ".nexus/personas/lead", "name: lead\naliases: [developer, boss]\n")
    assert load("architect", layers(root)).display_name == "Ours"
    assert load("developer", layers(root)).name == "developer"
    assert load("boss", layers(root)).name == "lead"
    assert catalog.aliases(layers(root))["boss"] == "lead"
    assert "architect" not in catalog.aliases(layers(root))


def test_an_unknown_name_suggests_the_closest_persona(tmp_path: Path, isolated_home: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        load("develper", layers(tmp_path))
    assert caught.value.hint == "did you mean 'developer'?"


@pytest.mark.parametrize("aliases", ["[Bad Name]", "[x]", "not-a-list"])
def test_bad_aliases_are_refused_naming_the_key(tmp_path: Path, aliases: str) -> None:
    folder = write_persona(tmp_path / "x", f"name: x\naliases: {aliases}\n")
    with pytest.raises(ConfigError, match="'aliases'"):
        parse_persona(folder / "persona.yaml")


def test_a_committed_persona_link_out_of_the_project_is_never_read(
    project: Path, tmp_path: Path
) -> None:
    outside = write_persona(tmp_path / "outside", "db_password: hunter2\n")
    personas = project / ".nexus" / "personas"
    personas.mkdir(parents=True)
    (personas / "leak").symlink_to(outside)
    with pytest.raises(ConfigError, match="resolves outside") as caught:
        load("leak", layers(project))
    assert "db_password" not in caught.value.message
