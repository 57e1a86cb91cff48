"""The one YAML loader for files people write (templates, config, personas, workflows).

:func:`load_yaml_mapping` reads a file that must hold a mapping at the top level and turns every
problem into a :class:`ConfigError` of the form ``"FILE: problem"`` (with the line number for
YAML syntax errors). :func:`key_error` builds the ``"FILE: KEY: problem"`` message for a bad value
found later. Keep this API small: other areas load their files through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nexus_cli import safe_path, yaml_cache
from nexus_cli.errors import ConfigError

# A document whose aliases expand to more nodes than this is refused (a "billion laughs": nine
# anchors of ten aliases each stand for 10**9 nodes in a few hundred bytes). Ordinary anchors and
# merge keys (`<<: *defaults`) stay far below it.
MAX_YAML_NODES = 100_000

__all__ = [
    "config_section",
    "dump_yaml",
    "key_error",
    "load_yaml_mapping",
    "parse_yaml",
    "parse_yaml_mapping",
]


def load_yaml_mapping(path: Path | str, *, what: str, root: Path | None = None) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (``{}`` for an empty file).

    ``what`` names the kind of file for messages about the whole file ("template", "project
    configuration"). Only safe YAML is loaded (no Python objects). A file of the repository
    (``.nexus/config.yaml``) is read below ``root`` without following a link
    (:func:`safe_path.read_bytes`: a link on the way is refused); a missing one then raises
    ``FileNotFoundError``.
    """

    file = Path(path)
    try:
        if root is not None:
            text = safe_path.read_bytes(root, file).decode("utf-8")
        else:
            text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: cannot read {what}: it is not UTF-8 text") from None
    except OSError as exc:
        if root is not None and isinstance(exc, FileNotFoundError):
            raise
        raise ConfigError(f"{file}: cannot read {what}: {exc.strerror or exc}") from None
    return parse_yaml_mapping(text, file, what=what)


def parse_yaml(text: str, path: Path | str, *, what: str) -> Any:
    """The YAML document in ``text`` (read from ``path``); a syntax error is a ConfigError.

    The message says where the YAML broke, the nearest key above that place, and why:
    ``FILE: invalid YAML at line 3, column 14 near key 'description': ...``. A document parsed
    before is taken from :mod:`nexus_cli.yaml_cache` (same path, same text, an entry signed by
    this home's cache key), without PyYAML.
    """
    found, data = yaml_cache.lookup(path, what, text)
    if found:
        return data
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())  # a SafeLoader, stricter still
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(Path(path), text, exc, what)) from None
    except RecursionError:  # PyYAML composes and constructs nested nodes recursively
        raise ConfigError(
            f"{path}: invalid YAML in the {what}: nested too deeply to read"
        ) from None
    yaml_cache.store(path, what, text, data)
    return data


_LOADERS: list[type] = []


def _loader() -> type:
    """PyYAML's SafeLoader, refusing duplicate keys and documents whose aliases expand past
    :data:`MAX_YAML_NODES` nodes or refer to themselves (made once, on first use)."""
    if _LOADERS:
        return _LOADERS[0]
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def compose_document(self) -> Any:
            node = super().compose_document()
            _check_expansion(node, yaml)
            return node

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                        continue
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r}", key_node.start_mark
                        )
                    seen.add(key)
            return super().construct_mapping(node, deep)

    _as_yaml_1_2(StrictLoader, yaml)
    _LOADERS.append(StrictLoader)
    return StrictLoader


# YAML 1.1's integers and floats without their base-60 form, which YAML 1.2 dropped: PyYAML reads
# `- 22:22` (a Compose port mapping) as 1342 and `1:30` as 90, where Compose (YAML 1.2) and
# every person writing a port or a time read text. Only the base-60 alternatives are left out.
# Its booleans are YAML 1.2's too: `true` and `false` only, so `yes`, `no`, `on` and `off` are
# text, as Compose reads them (`DEBUG: yes` is "yes" in the container; a service named `off`).
# Its numbers are what YAML 1.2 adds as well: `0o17` is 15 and `1e3` a number (1000), as Compose
# (go-yaml) reads them.
_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_BOOL = r"^(?:true|True|TRUE|false|False|FALSE)$"
_INT = r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o[0-7_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$"""
_FLOAT = r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$"""


def _as_yaml_1_2(loader: Any, yaml: Any) -> None:
    """Replace ``loader``'s implicit int, float and bool resolvers by :data:`_INT`,
    :data:`_FLOAT` and :data:`_BOOL` (on its own copy of the table: PyYAML's SafeLoader keeps its
    own)."""
    replaced = (_INT_TAG, _FLOAT_TAG, _BOOL_TAG)
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in replaced]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.add_implicit_resolver(_INT_TAG, re.compile(_INT, re.X), list("-+0123456789"))
    loader.add_implicit_resolver(_FLOAT_TAG, re.compile(_FLOAT, re.X), list("-+0123456789."))
    loader.add_implicit_resolver(_BOOL_TAG, re.compile(_BOOL), list("tTfF"))


def _check_expansion(root: Any, yaml: Any) -> None:
    """Raise a YAML error when the node graph, its aliases expanded, has more than
    :data:`MAX_YAML_NODES` nodes or a cycle (``&a [*a]``). Each node is visited once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children = _children(node, yaml)
        if finished:
            on_path.discard(id(node))
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_YAML_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand to more than {MAX_YAML_NODES:,} nodes",
                    node.start_mark,
                )
            sizes[id(node)] = size
        elif id(node) in on_path:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to the node that holds it", node.start_mark
            )
        elif id(node) not in sizes:
            on_path.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def parse_yaml_mapping(text: str, path: Path | str, *, what: str) -> dict[str, Any]:
    """Like :func:`parse_yaml`, for a document that must be a mapping (``{}`` when empty)."""
    data = parse_yaml(text, path, what=what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level of the {what}, got {type(data).__name__}"
        )
    return data


def _yaml_message(path: Path, text: str, exc: Exception, what: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{path}: invalid YAML in the {what}: {problem}"
    key = None
    for line in text.splitlines()[: mark.line + 1]:
        found = re.match(r"^\s*([A-Za-z_][\w.-]*)\s*:", line)
        if found:
            key = found.group(1)
    near = f" near key {key!r}" if key else ""
    return (
        f"{path}: invalid YAML at line {mark.line + 1}, column {mark.column + 1}{near}: {problem}"
    )


def config_section(
    path: Path, name: str, *, what: str = "project configuration", root: Path | None = None
) -> dict[str, Any] | None:
    """The ``name:`` mapping of the configuration file at ``path`` (None when absent); one of
    the repository's is read below ``root`` without following a link (:func:`load_yaml_mapping`)."""
    if root is not None:
        try:
            section = load_yaml_mapping(path, what=what, root=root).get(name)
        except FileNotFoundError:
            return None
    elif not path.is_file():
        return None
    else:
        section = load_yaml_mapping(path, what=what).get(name)
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"{path}: key '{name}' must be a mapping")
    return section


def dump_yaml(data: dict[str, Any]) -> str:
    """``data`` as block-style YAML for a person to edit: keys in the order given, text with
    several lines as a ``|`` block, Unicode kept."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000))


def key_error(path: Path | str, key: str, problem: str) -> ConfigError:
    """A :class:`ConfigError` saying ``FILE: KEY: problem`` (raise it)."""
    return ConfigError(f"{path}: {key}: {problem}")
