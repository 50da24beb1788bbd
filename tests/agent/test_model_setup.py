"""Connecting to a configured endpoint reports whether it is actually up."""

from __future__ import annotations

from pathlib import Path

from mltutor.agent.model_setup import connect_model, probe
from mltutor.settings import Settings
from tests.agent.fake_openai_server import FakeOpenAIServer


def test_probe_live_and_dead_endpoints() -> None:
    with FakeOpenAIServer() as server:
        assert probe(server.url) is None
    problem = probe("http://127.0.0.1:9/v1", timeout_s=1)
    assert problem and "cannot reach" in problem


def test_dead_configured_endpoint_is_not_ready(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, base_url="http://127.0.0.1:9/v1", model="m")
    _model, status, closer = connect_model(settings, lambda msg, frac: None)
    assert not status.ready and "cannot reach" in status.detail
    assert closer is not None
    closer()
