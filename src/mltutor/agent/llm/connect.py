"""Connect each role (tutor, judge) to its model: an explicitly configured endpoint, else the embedded model.

Kept apart from the service so the service can be tested with injected models, and so importing the
service does not import ``openai`` or start anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from mltutor.agent.llm.chat import ChatModel
from mltutor.agent.service import Progress, ServiceStatus
from mltutor.settings import Settings


def probe(base_url: str, timeout_s: float = 3.0) -> str | None:
    """None when ``GET {base_url}/models`` answers (any HTTP status: the server is up), else why not.

    A dead endpoint must show as "not ready" at start-up, not only when the first question fails.
    """
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for local
    try:
        with opener.open(base_url.rstrip("/") + "/models", timeout=timeout_s):
            return None
    except urllib.error.HTTPError:
        return None  # it answered; 401/404 are explained by the provider on the first request
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"cannot reach the model server at {base_url} ({reason}); is it running?"


class Connected(NamedTuple):
    """The models of every role, what they run on, and how to let go of them."""

    tutor: ChatModel
    """Writes answers (and picks tools)."""
    judge: ChatModel
    """Grades answers and checks prose (``MLTUTOR_JUDGE_MODEL`` when set, else the tutor's model)."""
    status: ServiceStatus
    """What the tutor role runs on, for the status bar."""
    close: Callable[[], None] | None
    """Call on exit: closes clients and releases the embedded model server (this process's use)."""


def connect_models(settings: Settings, progress: Progress) -> Connected:
    """The chat model of each role from the settings: configured endpoints, else the embedded model.

    Both roles go through the same provider factory; with the embedded model they share one server.
    """
    from mltutor.agent.llm.endpoint import resolve_endpoints
    from mltutor.agent.llm.openai_chat import OpenAIChatModel

    configs = resolve_endpoints(settings)
    config, judge_config = configs["tutor"], configs["judge"]
    if not config.embedded:
        model = OpenAIChatModel(config)
        same = judge_config.model_copy(update={"role": config.role}) == config
        judge = model if same else OpenAIChatModel(judge_config)
        progress(f"checking the model server at {config.base_url}…", None)
        problem = probe(config.base_url or "")
        status = ServiceStatus(
            model=config.model,
            endpoint=config.base_url or "",
            embedded=False,
            ready=problem is None,
            detail=problem or "",
        )

        def close_remote() -> None:
            model.close()
            if judge is not model:
                judge.close()

        return Connected(model, judge, status, close_remote)
    from mltutor.agent.embedded import EmbeddedServer

    server = EmbeddedServer(settings.cache_dir, settings=settings.embedded)
    try:
        base_url = server.start(progress)
    except BaseException:
        server.stop()
        raise
    update = {"base_url": base_url, "model": server.alias}
    budget = settings.embedded.max_tokens
    model = OpenAIChatModel(
        config.model_copy(update=update),
        before_request=server.ensure_running,
        default_max_tokens=budget,
    )
    judge = OpenAIChatModel(
        judge_config.model_copy(update=update),
        before_request=server.ensure_running,
        default_max_tokens=budget,
    )

    def close() -> None:
        model.close()
        judge.close()
        server.stop()

    status = ServiceStatus(
        model=server.alias, endpoint=f"embedded ({base_url})", embedded=True, ready=True
    )
    return Connected(model, judge, status, close)
