"""Settings: MLTUTOR_* env vars over a TOML file, frozen, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mltutor.cli import main
from mltutor.settings import SettingsError, load_settings


def test_env_over_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "from-toml"\nbest_of = 3\n[tools]\ntimeout_s = 2.5\n')
    monkeypatch.setenv("MLTUTOR_CONFIG", str(cfg))
    monkeypatch.setenv("MLTUTOR_MODEL", "from-env")
    s = load_settings()
    assert s.model == "from-env" and s.best_of == 3 and s.tools.timeout_s == 2.5
    monkeypatch.setenv("MLTUTOR_TOOLS__TIMEOUT_S", "7")
    assert load_settings().tools.timeout_s == 7
    with pytest.raises(ValidationError):  # frozen after start
        s.best_of = 5  # type: ignore[misc]


def test_openai_key_alias(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    key = load_settings().api_key
    assert key is not None and key.get_secret_value() == "sk-test"


def test_bad_toml_and_bad_values_are_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("best_of = [unclosed\n")
    monkeypatch.setenv("MLTUTOR_CONFIG", str(cfg))
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings()
    cfg.write_text("best_of = 99\n")
    with pytest.raises(SettingsError, match="best_of"):
        load_settings()
    steps = tmp_path / "d.txt"
    steps.write_text("d/dx x^2 = 2x\n")
    assert main(["check", str(steps)]) == 2
    assert "best_of" in capsys.readouterr().err
