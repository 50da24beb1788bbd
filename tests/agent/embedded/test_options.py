"""From settings to the server process: ``MLTUTOR_EMBEDDED__*`` reach the command, the command is
what the child parses, the child configures xllamacpp as intended, and every request has a budget."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mltutor.agent.embedded import EmbeddedServer, ServerOptions, native_server_command
from mltutor.agent.embedded.child import build_params, parse_args
from mltutor.agent.embedded.command import PORT_PLACEHOLDER, with_port
from mltutor.agent.embedded.template import CHAT_TEMPLATE
from mltutor.agent.llm.endpoint import EndpointConfig
from mltutor.agent.llm.openai_chat import OpenAIChatModel
from mltutor.settings import load_settings
from tests.agent.fake_openai_server import FakeOpenAIServer, text


def test_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MLTUTOR_EMBEDDED__THREADS", "3")
    monkeypatch.setenv("MLTUTOR_EMBEDDED__SLOTS", "2")
    monkeypatch.setenv("MLTUTOR_EMBEDDED__IDLE_TIMEOUT_S", "7.5")
    monkeypatch.setenv("MLTUTOR_EMBEDDED__MAX_TOKENS", "300")
    monkeypatch.setenv("MLTUTOR_EMBEDDED__STATE_DIR", str(tmp_path / "st"))
    s = load_settings().embedded
    assert (s.threads, s.slots, s.idle_timeout_s, s.max_tokens) == (3, 2, 7.5, 300)
    assert s.context_tokens == 4096 and s.state_dir == tmp_path / "st"
    srv = EmbeddedServer(tmp_path / "cache", settings=s)
    assert srv.registry.root == tmp_path / "st"
    assert EmbeddedServer(tmp_path / "cache").registry.root == tmp_path / "cache" / "embedded"


def test_prompt_step_size_is_a_setting_that_reaches_the_server_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTUTOR_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("MLTUTOR_EMBEDDED__BATCH_TOKENS", "48")
    s = load_settings().embedded
    assert s.batch_tokens == 48
    srv = EmbeddedServer(tmp_path / "cache", settings=s)
    argv = native_server_command(tmp_path / "m.gguf", srv._options)
    assert parse_args(with_port(argv, 1)[3:]).batch == 48


def test_the_child_parses_the_command_it_is_given(tmp_path: Path) -> None:
    options = ServerOptions(threads=3, slots=2, context_tokens=2048, prompt_cache_mib=64)
    argv = native_server_command(tmp_path / "m.gguf", options)
    assert argv[:3] == [sys.executable, "-m", "mltutor.agent.embedded.child"]
    assert PORT_PLACEHOLDER in argv
    args = parse_args(with_port(argv, 4321)[3:])
    assert args.model == str(tmp_path / "m.gguf") and args.port == 4321
    assert (args.threads, args.slots, args.context, args.prompt_cache_mib) == (3, 2, 2048, 64)
    assert args.alias == "qwen2.5-coder-1.5b" and args.host == "127.0.0.1"


@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None, reason="needs xllamacpp")
def test_xllamacpp_is_configured_as_intended(tmp_path: Path) -> None:
    options = ServerOptions(threads=2, slots=2, context_tokens=2048, prompt_cache_mib=64)
    args = parse_args(with_port(native_server_command(tmp_path / "m.gguf", options), 4321)[3:])
    params = build_params(args)
    assert params.model.path == str(tmp_path / "m.gguf")  # type: ignore[attr-defined]
    assert params.model_alias == {"qwen2.5-coder-1.5b"}  # type: ignore[attr-defined]
    assert params.hostnames == ["127.0.0.1"] and params.port == 4321  # type: ignore[attr-defined]
    assert params.n_parallel == 2 and params.n_ctx == 4096  # 2048 per slot  # type: ignore[attr-defined]
    assert params.cpuparams.n_threads == 2  # type: ignore[attr-defined]
    assert params.cache_prompt is True and params.cache_ram_mib == 64  # type: ignore[attr-defined]
    assert params.chat_template == CHAT_TEMPLATE and "```json" in CHAT_TEMPLATE  # type: ignore[attr-defined]
    assert params.n_batch == params.n_ubatch == 32  # type: ignore[attr-defined]
    assert params.sse_ping_interval == 1  # type: ignore[attr-defined]


def test_every_request_has_a_token_budget() -> None:
    with FakeOpenAIServer() as server:
        server.script(text("a"), text("b"), text("c"))
        config = EndpointConfig(base_url=server.url, model="fake-model")
        model = OpenAIChatModel(config, default_max_tokens=96)
        model.complete([{"role": "user", "content": "x"}])
        list(model.stream([{"role": "user", "content": "y"}]))
        model.complete([{"role": "user", "content": "z"}], max_tokens=7)  # the caller's wins
        model.close()
        budgets = [r.body.get("max_tokens") for r in server.chat_requests]
    assert budgets == [96, 96, 7]


def test_the_runtime_pin_matches_pyproject() -> None:
    import tomllib

    from mltutor.agent.embedded.command import RUNTIME_REQUIREMENT

    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert RUNTIME_REQUIREMENT in deps
    assert not [d for d in deps if d.startswith("llama-cpp-python")]


def test_a_missing_runtime_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mltutor.agent.embedded import server as server_module
    from mltutor.agent.errors import ProviderError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        server_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "xllamacpp" else real(name, *a),
    )
    srv = EmbeddedServer(tmp_path, assemble=lambda c, p: tmp_path / "never.gguf")
    with pytest.raises(ProviderError) as info:
        srv.start()
    assert "pip install 'xllamacpp==" in info.value.message and info.value.kind == "embedded"
