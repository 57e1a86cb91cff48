"""A base for small record classes on start-up paths, without ``dataclasses``.

Building a dataclass runs its generated ``__init__``/``__repr__``/``__eq__`` through ``exec``,
about 1.5 ms per class at import; ``workspace create -t bare`` is measured against a bare Click
app, so the classes it loads write their ``__init__`` by hand and take equality and a
dataclass-like ``repr`` from here (fields are the instance attributes, in assignment order).
"""

from __future__ import annotations

from typing import Any


class Plain:
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value: unhashable

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)
