"""The one YAML loader for files people write (templates, config, personas, workflows).

:func:`load_yaml_mapping` reads a file that must hold a mapping at the top level and turns every
problem into a :class:`ConfigError` of the form ``"FILE: problem"`` (with the line number for
YAML syntax errors). :func:`key_error` builds the ``"FILE: KEY: problem"`` message for a bad value
found later. Keep this API small: other areas load their files through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_cli.errors import ConfigError

__all__ = ["key_error", "load_yaml_mapping"]


def load_yaml_mapping(path: Path | str, *, what: str) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (``{}`` for an empty file).

    ``what`` names the kind of file for messages about the whole file ("template", "project
    configuration"). Only safe YAML is loaded (no Python objects).
    """
    import yaml

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: cannot read {what}: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}{where}: invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: expected a mapping at the top level of the {what}, got {type(data).__name__}"
        )
    return data


def key_error(path: Path | str, key: str, problem: str) -> ConfigError:
    """A :class:`ConfigError` saying ``FILE: KEY: problem`` (raise it)."""
    return ConfigError(f"{path}: {key}: {problem}")
