"""Short task IDs that do not collide across clones, without any coordination.

An ID is ``nx-`` followed by base36 digits of a random SHA-256. Its length grows with the number
of tasks so that two clones creating tasks independently stay unlikely to pick the same ID
(birthday bound below 1%); a local collision just retries one digit longer.
"""

from __future__ import annotations

import hashlib
import math
import os
import time

ID_PREFIX = "nx-"
MIN_LENGTH = 4
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
COLLISION_BUDGET = 0.01


def id_length(task_count: int) -> int:
    """Digits needed so that ``n**2 / 36**L`` (the birthday bound) stays under 1%."""
    n = max(task_count + 1, 2)
    needed = math.log(n * n / COLLISION_BUDGET, 36)
    return max(MIN_LENGTH, math.ceil(needed))


def _base36(value: int) -> str:
    digits = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)) or "0"


def candidate(title: str, length: int) -> str:
    """A fresh random ID of ``length`` digits (the title only adds entropy)."""
    seed = f"{title}\0{time.time_ns()}\0{os.getpid()}\0".encode() + os.urandom(16)
    number = int.from_bytes(hashlib.sha256(seed).digest(), "big") % (36**length)
    return ID_PREFIX + _base36(number).rjust(length, "0")


def normalise_prefix(text: str) -> str:
    """Accept ``nx-ab12``, ``ab12`` and upper case alike."""
    text = text.strip().lower()
    return text if text.startswith(ID_PREFIX) else ID_PREFIX + text
