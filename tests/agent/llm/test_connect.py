"""Connecting to a configured endpoint reports whether it is actually up."""

from __future__ import annotations

from pathlib import Path

from mltutor.agent.llm import connect_models, probe
from mltutor.settings import Settings
from tests.agent.fake_openai_server import FakeOpenAIServer


def test_probe_live_and_dead_endpoints() -> None:
    with FakeOpenAIServer() as server:
        assert probe(server.url) is None
    problem = probe("http://127.0.0.1:9/v1", timeout_s=1)
    assert problem and "cannot reach" in problem


def test_dead_configured_endpoint_is_not_ready(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, base_url="http://127.0.0.1:9/v1", model="m")
    connected = connect_models(settings, lambda msg, frac: None)
    assert not connected.status.ready and "cannot reach" in connected.status.detail
    assert connected.judge is connected.tutor  # no judge model configured: the tutor's model judges
    assert connected.close is not None
    connected.close()


def test_judge_model_is_its_own_client(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, base_url="http://127.0.0.1:9/v1", model="m", judge_model="j"
    )
    connected = connect_models(settings, lambda msg, frac: None)
    assert connected.tutor.name == "m" and connected.judge.name == "j"
    assert connected.close is not None
    connected.close()
