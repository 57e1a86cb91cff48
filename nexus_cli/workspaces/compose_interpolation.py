"""Compose's interpolation (``$VAR``, ``${VAR}``, ``${VAR:-default}``…), in a Compose file and
in the env files it reads: one reader for both, as Compose has."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, cast

from nexus_cli.errors import ConfigError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${VAR<operator>word}: a default when unset (or empty, with ':'), an error when unset (or
# empty), a replacement when set (and not empty); longest first
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def interpolate(value: Any, env: Mapping[str, str], path: Path) -> Any:
    """Compose's interpolation in every string of ``value``: ``$VAR``, ``${VAR}``, the operators
    of :data:`_OPERATORS` (whose word is interpolated in turn: ``${A:-${B}}``) and ``$$`` for a
    ``$``; an unset variable is empty. A ``${`` that does not close, or holds no variable name,
    is an error, as in Compose."""
    if isinstance(value, str):
        return expand(value, env, path)
    if isinstance(value, list):
        return [interpolate(v, env, path) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env, path) for k, v in value.items()}
    return value


def layered(first: dict[str, str], then: Mapping[str, str]) -> Mapping[str, str]:
    """``first``'s values, then ``then``'s (read lazily: a variable of the user's environment is
    checked only when a value asks for it). ChainMap only reads the maps after its first, though
    its types ask for mutable ones."""
    return ChainMap(first, cast(MutableMapping[str, str], then))


def expand(text: str, env: Mapping[str, str], path: Path) -> str:
    """:func:`interpolate` of one string."""
    out: list[str] = []
    at = 0
    while (dollar := text.find("$", at)) >= 0:
        out.append(text[at:dollar])
        if text.startswith("$$", dollar):
            out.append("$")
            at = dollar + 2
        elif text.startswith("${", dollar):
            end = _closing(text, dollar + 2)
            if end < 0:
                raise ConfigError(f"{path}: {text[dollar : dollar + 40]!r}: a '${{' with no '}}'")
            out.append(_braced(text[dollar + 2 : end], env, path))
            at = end + 1
        elif (name := _NAME.match(text, dollar + 1)) is not None:
            out.append(env.get(name.group()) or "")
            at = name.end()
        else:  # a '$' before anything else stays
            out.append("$")
            at = dollar + 1
    out.append(text[at:])
    return "".join(out)


def _closing(text: str, start: int) -> int:
    """The index of the ``}`` that closes a ``${`` whose body begins at ``start`` (-1: none)."""
    depth, at = 0, start
    while at < len(text):
        if text.startswith("$$", at):
            at += 2
            continue
        if text.startswith("${", at):
            depth, at = depth + 1, at + 2
            continue
        if text[at] == "}":
            if depth == 0:
                return at
            depth -= 1
        at += 1
    return -1


def _braced(body: str, env: Mapping[str, str], path: Path) -> str:
    """The value of ``${body}``."""
    name = _NAME.match(body)
    operator = next((op for op in _OPERATORS if name and body.startswith(op, name.end())), None)
    if name is None or (operator is None and name.end() != len(body)):
        raise ConfigError(f"{path}: ${{{body[:40]}}}: expected ${{NAME}}, or ${{NAME:-default}}")
    key = name.group()
    current = env.get(key)
    if operator is None:
        return current or ""
    word = body[name.end() + len(operator) :]
    unset = current is None or (operator.startswith(":") and not current)
    if operator.endswith("-"):
        return expand(word, env, path) if unset else current or ""
    if operator.endswith("?"):
        if unset:
            raise ConfigError(f"{path}: ${{{key}}}: {expand(word, env, path) or 'is not set'}")
        return current or ""
    return "" if unset else expand(word, env, path)  # '+': the word when set
