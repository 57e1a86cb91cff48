from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from nexus_cli import paths


def test_user_data_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.user_data_dir() == Path(platformdirs.user_data_dir("nexus"))
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.user_data_dir() == Path(platformdirs.user_data_dir("nexus"))


def test_user_config_dir_matches_platformdirs() -> None:
    assert paths.user_config_dir() == Path(platformdirs.user_config_dir("nexus"))


def test_nexus_home_prefers_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path))
    assert paths.nexus_home() == tmp_path
    monkeypatch.delenv("NEXUS_HOME")
    assert paths.nexus_home() == paths.user_data_dir()


def test_cache_dir_is_in_nexus_home_else_the_platform_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path))
    assert paths.cache_dir_str() == str(tmp_path / "cache")
    monkeypatch.delenv("NEXUS_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir_str() == platformdirs.user_cache_dir("nexus")


def test_config_dir_prefers_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(tmp_path / "conf"))
    assert paths.user_config_dir() == tmp_path / "conf"
    monkeypatch.delenv("NEXUS_CONFIG_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert paths.user_config_dir() == Path(platformdirs.user_config_dir("nexus"))
