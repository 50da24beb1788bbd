"""Translating endpoint failures into :class:`ProviderError` messages a user can act on.

Separate from the provider so the wording of every failure (timeouts, refused connections, HTTP
statuses, broken bodies) lives in one place and can be read and tested on its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from mltutor.agent.errors import ProviderError
from mltutor.agent.llm.endpoint import EndpointConfig

if TYPE_CHECKING:
    import openai

SHOWN_CHARS = 200
"""How much of a server message or broken tool-call JSON an error message quotes."""


def translate_error(
    exc: Exception, url: str, cfg: EndpointConfig, *, during_stream: bool = False
) -> ProviderError | None:
    """A ``ProviderError`` a user can act on, or None for exceptions that are not endpoint failures."""
    import openai

    server = "the embedded model server" if cfg.embedded else "the model server"
    if isinstance(exc, openai.APITimeoutError):
        when = "in the middle of an answer" if during_stream else ""
        return ProviderError(
            f"no answer from {server} at {url} within {cfg.timeout_s:g} s {when}".rstrip()
            + " — raise MLTUTOR_REQUEST_TIMEOUT_S, or use a smaller or faster model",
            "timeout",
            retryable=True,
        )
    if isinstance(exc, openai.APIConnectionError):
        if during_stream:
            message = (
                f"the connection to {server} at {url} broke in the middle of the answer — "
                "ask again; if it keeps happening, check the server"
            )
        elif cfg.embedded:
            message = (
                f"cannot reach the embedded model server at {url} — it may have stopped; "
                "it is restarted on the next request"
            )
        else:
            message = (
                f"cannot reach the model server at {url} — is it running? check MLTUTOR_BASE_URL"
            )
        return ProviderError(message, "unreachable", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return translate_status(exc, url, server, cfg)
    if isinstance(exc, openai.APIResponseValidationError):
        return bad_response(url, str(exc))
    if isinstance(exc, openai.APIError):
        # An error event inside a stream (the HTTP status was already 200).
        return ProviderError(
            f"{server} at {url} reported an error: {clip(exc.message)} — ask again",
            "server",
            retryable=True,
        )
    if isinstance(exc, json.JSONDecodeError):
        return bad_response(url, f"the body is not JSON ({exc.msg})")
    if isinstance(exc, openai.OpenAIError):
        return ProviderError(
            f"the openai client refused the request: {clip(str(exc))}", "bad_request"
        )
    return None


def translate_status(
    exc: openai.APIStatusError, url: str, server: str, cfg: EndpointConfig
) -> ProviderError:
    """The error for an HTTP status the server answered with."""
    status = exc.status_code
    detail = _detail(exc.body)
    shown = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
    if status in (401, 403):
        return ProviderError(
            f"the API key was rejected by {url} ({shown}) — set OPENAI_API_KEY or MLTUTOR_API_KEY",
            "auth",
        )
    if status == 404:
        return ProviderError(
            f"model {cfg.model!r} not found at {url} ({shown}) — check {cfg.model_setting}, "
            "and that MLTUTOR_BASE_URL ends with /v1",
            "not_found",
        )
    if status == 408:
        return ProviderError(
            f"{server} at {url} timed out the request ({shown}) — try again, or raise "
            "MLTUTOR_REQUEST_TIMEOUT_S",
            "timeout",
            retryable=True,
        )
    if status == 429:
        if exc.code == "insufficient_quota" or "quota" in detail.lower():
            return ProviderError(
                f"the account behind the API key has no quota left at {url} ({shown}) — check "
                "the plan and billing with the provider, or use another endpoint",
                "rate_limit",
            )
        return ProviderError(
            f"{server} at {url} is rate-limiting requests ({shown}) — wait a minute and ask "
            "again, or raise MLTUTOR_MAX_RETRIES",
            "rate_limit",
            retryable=True,
        )
    if status >= 500:
        return ProviderError(
            f"{server} at {url} failed ({shown}) — try again in a moment; if it persists, "
            "check the server's logs",
            "server",
            retryable=True,
        )
    hint = (
        "the conversation is too long for the model — start a new session"
        if "context" in detail.lower() or status == 413
        else f"the server or model may not support an option used (tools, JSON output); "
        f"try another {cfg.model_setting}"
    )
    return ProviderError(
        f"{server} at {url} rejected the request ({shown}) — {hint}", "bad_request"
    )


def bad_response(url: str, what: str) -> ProviderError:
    return ProviderError(
        f"the server at {url} sent a response that is not a chat completion: {what} — check that "
        "MLTUTOR_BASE_URL points at an OpenAI-compatible API (usually ending in /v1)",
        "bad_response",
    )


def clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _detail(body: object) -> str:
    """The server's own error message (OpenAI-style ``{"message": ...}`` or any text), shortened."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        return clip(str(message)) if message else ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return clip(str(body)) if body else ""


def retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (delta seconds or an HTTP date), if any."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
