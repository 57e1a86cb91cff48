"""Imports whose modules live until the process ends, made without the cyclic collector.

Importing a package allocates enough to set off several full collections of the garbage
collector, which walk everything alive and find nothing to free: modules, classes and functions
are never garbage. :func:`imports` turns the collector off while such an import runs, then moves
what exists into the permanent generation (:func:`gc.freeze`), so that no later collection walks
it again. The CLI's own modules (:mod:`nexus_cli.__main__`, which cannot import this module before
its Ctrl-C handler is in place, does the same inline), each command's modules
(:class:`nexus_cli.lazy.NexusGroup`) and the Docker SDK (:func:`nexus_cli.engine.load_sdk`) are
imported so.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def imports() -> Iterator[None]:
    """Run the imports in the ``with`` block with the collector off; freeze what they made."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
