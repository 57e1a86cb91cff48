"""Option declarations that several command groups share (Click only; loaded with the commands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def shown_default_option(
    name: str, kind: click.ParamType[Any, Any], default: Any, help: str
) -> Callable[[F], F]:
    """The option ``name`` of type ``kind`` (a range, a choice), whose default ``--help`` shows."""
    return click.option(name, type=kind, default=default, show_default=True, help=help)
