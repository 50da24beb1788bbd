"""Connect the tutor role to its model: an explicitly configured endpoint, else the embedded model.

Kept apart from the service so the service can be tested with injected models, and so importing the
service does not import ``openai`` or start anything.
"""

from __future__ import annotations

from collections.abc import Callable

from mltutor.agent.chat import ChatModel
from mltutor.agent.service import Progress, ServiceStatus
from mltutor.settings import Settings


def connect_model(
    settings: Settings, progress: Progress
) -> tuple[ChatModel, ServiceStatus, Callable[[], None] | None]:
    """The tutor's chat model, its status, and a closer to call on exit (stops a child server)."""
    from mltutor.agent.endpoint import resolve_endpoints
    from mltutor.agent.providers import OpenAIChatModel

    config = resolve_endpoints(settings)["tutor"]
    if not config.embedded:
        model = OpenAIChatModel(config)
        status = ServiceStatus(
            model=config.model, endpoint=config.base_url or "", embedded=False, ready=True
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
