"""Which model endpoint each role talks to: an explicitly configured one, or the embedded model.

Resolution is a pure function of :class:`~mltutor.settings.Settings` (no environment reads here: the
settings loader already merged ``MLTUTOR_*``, ``OPENAI_API_KEY`` and the config file), so the precedence
rules are tested without touching the process environment.

Precedence, per the providers issue:

1. ``base_url = "embedded"`` selects the embedded model even when an API key is around (an escape hatch
   for people whose shell exports ``OPENAI_API_KEY`` for other tools).
2. An explicit ``base_url`` wins: any OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenAI itself).
   A missing key becomes a placeholder, because local servers ignore it but the ``openai`` client
   refuses to start without one.
3. An API key without a ``base_url`` means OpenAI itself: :data:`OPENAI_BASE_URL` and, unless a model is
   configured, :data:`OPENAI_DEFAULT_MODEL` (cheap, fast, and good at tool calls: the tutor makes many
   small calls, so a small model is the sensible default for a key that is paid per token).
4. Nothing configured: the embedded model; its ``base_url`` is filled in later by the embedded server
   (through the provider's ``before_request`` hook), since its port is only known once it runs.

A model name with neither a URL nor a key is rejected: there is nowhere to send it, and silently
falling back to the embedded model would hide the mistake.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mltutor.agent.embedded import MODEL_ALIAS
from mltutor.agent.errors import ProviderError
from mltutor.settings import Settings

Role = Literal["tutor", "judge"]
"""What a model is used for: answering (tutor) or grading and verifying (judge)."""

ROLES: tuple[Role, ...] = ("tutor", "judge")

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""Where an API key without a base URL is sent."""

OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
"""Model used with an OpenAI key when ``MLTUTOR_MODEL`` is unset."""

EMBEDDED_MODEL = MODEL_ALIAS
"""Name the embedded model is requested by: the alias the embedded server is started with."""

EMBEDDED_SENTINEL = "embedded"
"""``MLTUTOR_BASE_URL=embedded`` forces the embedded model."""

PLACEHOLDER_API_KEY = "not-needed"
"""Sent to servers that need no key: the ``openai`` client will not start without some key."""


class EndpointConfig(BaseModel):
    """Everything needed to call one model for one role."""

    model_config = ConfigDict(use_attribute_docstrings=True, frozen=True)

    base_url: str | None = None
    """OpenAI-compatible base URL (ending in ``/v1``); None for the embedded model until it runs."""

    api_key: SecretStr | None = None
    """Bearer key; None sends :data:`PLACEHOLDER_API_KEY` (local servers ignore it)."""

    model: str
    """Model name sent with each request."""

    timeout_s: float = Field(default=120.0, gt=0)
    """Per-request timeout (connect, and each read: for streams, the longest silence between pieces)."""

    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after the first attempt on connection errors, timeouts, 429 and 5xx."""

    role: Role = "tutor"
    """Which role this endpoint serves; used to name the right setting in error messages."""

    embedded: bool = False
    """True for the bundled local model (its server is started and restarted by mltutor itself)."""

    backoff_base_s: float = Field(default=0.5, ge=0)
    """First retry waits about this long; each later retry doubles it (with jitter)."""

    backoff_max_s: float = Field(default=8.0, ge=0)
    """Upper bound of one computed backoff wait."""

    retry_after_cap_s: float = Field(default=30.0, ge=0)
    """Longest wait honoured from a server's ``Retry-After``: an interactive tutor should not hang for
    minutes; past this the request is retried anyway after the cap (or fails once retries run out)."""

    @property
    def model_setting(self) -> str:
        """The setting a user changes to pick this role's model (for error messages)."""
        return "MLTUTOR_JUDGE_MODEL (or MLTUTOR_MODEL)" if self.role == "judge" else "MLTUTOR_MODEL"


def resolve_endpoints(settings: Settings) -> dict[Role, EndpointConfig]:
    """Endpoint per role from settings (see the module docstring for the precedence).

    The judge uses ``judge_model`` when set, else the tutor's model: grading with the same model is
    better than failing, and users with one model need to configure nothing.

    Raises :class:`ProviderError` (kind ``auth``) when a model is named but there is no URL or key.
    """
    base_url = (settings.base_url or "").strip() or None
    key = settings.api_key if settings.api_key and settings.api_key.get_secret_value() else None

    if base_url is not None and base_url.lower() == EMBEDDED_SENTINEL:
        base_url, key, explicit = None, None, False
    elif base_url is not None or key is not None:
        explicit = True
    else:
        explicit = False
        named = settings.model or settings.judge_model
        if named:
            raise ProviderError(
                f"model {named!r} is configured but there is no endpoint for it: set OPENAI_API_KEY "
                "to use OpenAI, MLTUTOR_BASE_URL for another OpenAI-compatible server, or unset "
                "MLTUTOR_MODEL/MLTUTOR_JUDGE_MODEL to use the embedded model",
                "auth",
            )

    if not explicit:
        return {
            role: EndpointConfig(
                model=EMBEDDED_MODEL,
                role=role,
                embedded=True,
                timeout_s=settings.request_timeout_s,
                max_retries=settings.max_retries,
            )
            for role in ROLES
        }

    url = base_url or OPENAI_BASE_URL
    tutor_model = settings.model or (OPENAI_DEFAULT_MODEL if base_url is None else None)
    if tutor_model is None:
        raise ProviderError(
            f"MLTUTOR_BASE_URL is set to {url} but no model is named: set MLTUTOR_MODEL to one of "
            "the models that server offers",
            "not_found",
        )
    models: dict[Role, str] = {"tutor": tutor_model, "judge": settings.judge_model or tutor_model}
    return {
        role: EndpointConfig(
            base_url=url,
            api_key=key,
            model=models[role],
            role=role,
            timeout_s=settings.request_timeout_s,
            max_retries=settings.max_retries,
        )
        for role in ROLES
    }
