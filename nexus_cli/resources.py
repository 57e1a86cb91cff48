"""Data folders that ship with Nexus: ``templates/``, ``personas/`` and ``workflows/``.

In a wheel they live inside the package (``nexus_cli/_data/<name>``); in a source checkout or an
editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder of shipped data called ``name`` (``"templates"``, ``"personas"``, ``"workflows"``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
