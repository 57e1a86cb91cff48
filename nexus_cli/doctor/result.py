"""One finding of `nexus doctor`: :class:`Check` (what every check returns)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    detail: str
    essential: bool
    fix: str | None = None

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
