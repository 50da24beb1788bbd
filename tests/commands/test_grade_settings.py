"""``mltutor grade`` without anything configuring it builds its settings without pydantic-settings;
the values it reads must be exactly what the full settings would say."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mltutor.commands.grade import DefaultSettings, grade_settings
from mltutor.settings import Settings, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.upper().startswith(("MLTUTOR_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "absent.toml"))


def _args(judge: bool | None = None) -> argparse.Namespace:
    return argparse.Namespace(judge=judge)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("dirs", [False, True])
def test_defaults_equal_the_full_settings(
    dirs: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if dirs:
        monkeypatch.setenv("MLTUTOR_DATA_DIR", str(tmp_path / "d"))
        monkeypatch.setenv("MLTUTOR_CACHE_DIR", str(tmp_path / "c"))
    light, full = grade_settings(_args()), load_settings()
    assert isinstance(light, DefaultSettings)
    for name in ("data_dir", "cache_dir", "base_url", "chroma_url", "tools"):
        assert getattr(light, name) == getattr(full, name), name
    assert light.language == full.language  # anything else: read from the full settings


@pytest.mark.usefixtures("clean_env")
def test_anything_configuring_loads_the_full_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert isinstance(grade_settings(_args(judge=True)), Settings)
    assert isinstance(grade_settings(_args(judge=False)), DefaultSettings)
    with monkeypatch.context() as m:
        m.setenv("MLTUTOR_BASE_URL", "http://127.0.0.1:9/v1")
        assert grade_settings(_args()).base_url == "http://127.0.0.1:9/v1"
    with monkeypatch.context() as m:
        m.setenv("mltutor_data_dir", str(tmp_path / "lower"))  # pydantic-settings ignores case
        settings = grade_settings(_args())
        assert isinstance(settings, Settings) and settings.data_dir == tmp_path / "lower"
    config = tmp_path / "config.toml"
    config.write_text('chroma_url = "http://127.0.0.1:8000"\n', encoding="utf-8")
    monkeypatch.setenv("MLTUTOR_CONFIG", str(config))
    assert grade_settings(_args()).chroma_url == "http://127.0.0.1:8000"
