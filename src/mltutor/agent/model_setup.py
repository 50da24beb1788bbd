"""Connect the tutor role to its model: an explicitly configured endpoint, else the embedded model.

Kept apart from the service so the service can be tested with injected models, and so importing the
service does not import ``openai`` or start anything.
"""

from __future__ import annotations

from collections.abc import Callable

from mltutor.agent.chat import ChatModel
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


def connect_model(
    settings: Settings, progress: Progress
) -> tuple[ChatModel, ServiceStatus, Callable[[], None] | None]:
    """The tutor's chat model, its status, and a closer to call on exit (stops a child server)."""
    from mltutor.agent.endpoint import resolve_endpoints
    from mltutor.agent.providers import OpenAIChatModel

    config = resolve_endpoints(settings)["tutor"]
    if not config.embedded:
        model = OpenAIChatModel(config)
        progress(f"checking the model server at {config.base_url}…", None)
        problem = probe(config.base_url or "")
        status = ServiceStatus(
            model=config.model,
            endpoint=config.base_url or "",
            embedded=False,
            ready=problem is None,
            detail=problem or "",
        )
        return model, status, model.close
    from mltutor.agent.embedded import EmbeddedServer

    server = EmbeddedServer(settings.cache_dir)
    try:
        base_url = server.start(progress)
    except BaseException:
        server.stop()
        raise
    config = config.model_copy(update={"base_url": base_url, "model": server.alias})
    model = OpenAIChatModel(config, before_request=server.ensure_running)

    def close() -> None:
        model.close()
        server.stop()

    status = ServiceStatus(
        model=server.alias, endpoint=f"embedded ({base_url})", embedded=True, ready=True
    )
    return model, status, close
