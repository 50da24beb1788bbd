"""The one chat-model provider: any OpenAI-compatible endpoint through the ``openai`` client.

Why the ``openai`` client directly (not langchain-openai): langchain-openai pulls in tiktoken, whose
token counting downloads files at run time and fails offline; graph nodes call this class instead.

Why our own retries (the client is built with ``max_retries=0``): the embedded server can die and come
back on another port, so every attempt first asks ``before_request`` for the current URL (the embedded
server's ``ensure_running()``) and re-points the client; and the final error must say what to do, with
the number of attempts made. The client's built-in retries could do neither.

The embedded model is llama.cpp's native server (see :mod:`mltutor.agent.embedded`): it takes the
standard ``json_schema`` response format (enforced by a grammar), parses tool calls streamed or not (with
the chat template the embedded package ships; :meth:`stream` still sends no tools, by design), and
stops generating when a stream is closed. Every request carries a token budget: ``max_tokens`` from the
caller, else ``default_max_tokens`` (``MLTUTOR_EMBEDDED__MAX_TOKENS`` for the embedded model), so an
endless stream is always cut.
"""

from __future__ import annotations

import html
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from mltutor.agent.errors import Cancelled, ProviderError, ProviderErrorKind
from mltutor.agent.llm.cancel import Abort, http_client
from mltutor.agent.llm.chat import Completion, Message, ToolCall
from mltutor.agent.llm.endpoint import PLACEHOLDER_API_KEY, EndpointConfig
from mltutor.agent.llm.translate import (
    SHOWN_CHARS,
    bad_response,
    retry_after,
    translate_error,
)
from mltutor.agent.llm.usage import record_call, rejects_stream_options

if TYPE_CHECKING:
    import openai

__all__ = ["OpenAIChatModel", "json_response_format"]

MAX_CHARS_PER_TOKEN = 16
"""A stream is cut after this many characters per requested token: real tokens average about 4
characters, so only a server ignoring ``max_tokens`` (an endless stream) ever reaches it."""

log = logging.getLogger(__name__)

T = TypeVar("T")

_TRANSIENT: frozenset[ProviderErrorKind] = frozenset(
    {"unreachable", "timeout", "rate_limit", "server"}
)
"""Failures that may pass on their own, so an attempt is repeated after a backoff."""


def json_response_format(
    schema: dict[str, Any], *, embedded: bool, name: str = "response"
) -> dict[str, Any]:
    """``response_format`` asking for JSON matching ``schema``, in the dialect the server speaks.

    OpenAI, vLLM, Ollama and llama.cpp's own server (the embedded model, which turns the schema into a
    grammar) all take the standard ``json_schema`` form (not ``strict``: strict mode rejects ordinary
    schemas with optional fields); ``embedded`` is kept for callers and changes nothing now.
    """
    del embedded  # one dialect since the embedded model runs llama.cpp's native server
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": False}}


class EntityDecoder:
    """Decodes HTML entities in streamed text, holding back an entity split across pieces.

    llama-cpp-python's ``chatml-function-calling`` template autoescapes the prompt (``'`` becomes
    ``&#39;``), and the small model imitates that in its answers; the embedded endpoint's output is
    decoded here so users and the verifier see plain text.
    """

    _TAIL = re.compile(r"&#?[A-Za-z0-9]{0,8}$")

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        m = self._TAIL.search(text)
        self._held, text = (text[m.start() :], text[: m.start()]) if m else ("", text)
        return html.unescape(text)

    def flush(self) -> str:
        rest, self._held = self._held, ""
        return html.unescape(rest)


class OpenAIChatModel:
    """:class:`~mltutor.agent.llm.chat.ChatModel` over the chat-completions API of one endpoint.

    Thread-safe: graph nodes may call it concurrently (best-of-N). The ``openai`` client is created on
    first use (importing ``openai`` takes about a second, which commands that never chat should not pay)
    and rebuilt whenever ``before_request`` reports a different URL.

    ``default_max_tokens`` is sent when a call names no ``max_tokens`` (every request has a budget).
    Every call's token usage is recorded in the open :mod:`~mltutor.agent.llm.usage` scope.
    ``sleep`` and ``rng`` exist so tests can observe backoff waits without waiting.
    """

    reports_usage = True
    """Calls record their own usage (a wrapper that meters fakes must not count them again)."""

    def __init__(
        self,
        config: EndpointConfig,
        *,
        before_request: Callable[[], str] | None = None,
        default_max_tokens: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._default_max_tokens = default_max_tokens
        self._before_request = before_request
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._client_url: str | None = None
        self._stream_usage = True  # streams ask for usage until the server rejects stream_options

    @property
    def name(self) -> str:
        """Model name for display and traces."""
        return self._config.model

    @property
    def continues_final_message(self) -> bool:
        """The embedded llama.cpp server continues a final assistant message (prefill)."""
        return self._config.embedded

    @property
    def config(self) -> EndpointConfig:
        """The endpoint this model talks to."""
        return self._config

    @property
    def base_url(self) -> str | None:
        """The URL of the last request (or the configured one before any request)."""
        return self._client_url or self._config.base_url

    def close(self) -> None:
        """Release the HTTP connection pool (the next call builds a new client)."""
        with self._lock:
            client, self._client, self._client_url = self._client, None, None
        if client is not None:
            client.close()

    # -- the ChatModel protocol ------------------------------------------------------------------

    def complete(
        self,
        messages: list[Message],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Completion:
        """One non-streamed response; see :meth:`ChatModel.complete`.

        With tools, ``tool_choice`` defaults to ``"auto"`` and is always sent (the embedded server
        ignores tools otherwise); without tools it is not sent, since servers reject it alone.
        """
        params = self._params(messages, temperature, max_tokens)
        if tools:
            params["tools"] = tools
            params["tool_choice"] = tool_choice or "auto"
        if response_format is not None:
            params["response_format"] = response_format
        abort = Abort.for_current()  # the user may stop it while the server reads the prompt
        try:
            response, url = self._call(
                lambda client: client.chat.completions.create(**params), abort
            )
        finally:
            if abort is not None:
                abort.close()
        completion = self._parse(response, url)
        produced = len(completion.content) + sum(
            len(json.dumps(c.arguments)) + len(c.name) for c in completion.tool_calls
        )
        record_call(completion.usage, messages, produced)
        return completion

    def stream(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.2,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Text pieces of one response as they arrive.

        Closing the generator early (``.close()``, ``break``, garbage collection) closes the HTTP
        response, which is how a run is cancelled: the server sees the disconnect and stops generating.
        Inside a cancel scope (:mod:`~mltutor.agent.llm.cancel`) setting the stop flag does the same at
        once, even before the first piece (the server still reading the prompt), and raises
        :class:`~mltutor.agent.errors.Cancelled`.
        Connection setup is retried like :meth:`complete`; a failure after the first piece is not (the
        pieces already shown cannot be taken back) and raises :class:`ProviderError`.
        """
        params = self._params(messages, temperature, max_tokens)
        params["stream"] = True
        abort = Abort.for_current()
        try:
            chunks, url = self._open_stream(params, abort)
        except BaseException:
            if abort is not None:
                abort.close()
            raise
        if abort is not None:
            abort.add_response(getattr(chunks, "response", None))
        usage: Any = None
        events = 0
        decoder = EntityDecoder() if self._config.embedded else None
        # a server that ignores max_tokens must not stream forever: stop reading well past it
        budget = params.get("max_tokens")
        cap = MAX_CHARS_PER_TOKEN * budget if isinstance(budget, int) else None
        sent = 0
        try:
            for chunk in chunks:
                events += 1
                # the usage chunk (stream_options) comes last, with no choices
                usage = getattr(chunk, "usage", None) or usage
                choices = getattr(chunk, "choices", None)
                if not choices:
                    continue
                text = getattr(getattr(choices[0], "delta", None), "content", None)
                if isinstance(text, str) and text:
                    text = decoder.feed(text) if decoder else text
                    if text:
                        sent += len(text)
                        yield text
                        if cap is not None and sent > cap:
                            log.warning(
                                "stream cut after %d characters (max_tokens %s)", sent, budget
                            )
                            break
            if decoder is not None and (rest := decoder.flush()):
                yield rest
        except Exception as exc:
            if abort is not None and abort.cancelled:
                raise Cancelled() from exc
            error = translate_error(exc, url, self._config, during_stream=True)
            if error is None:
                raise
            raise error from exc
        finally:
            if abort is not None:
                abort.close()
            chunks.close()
            record_call(usage, messages, sent)
        if events == 0:
            raise ProviderError(
                f"the model server at {url} ended the stream without sending anything — check that "
                "MLTUTOR_BASE_URL points at an OpenAI-compatible server that supports streaming",
                "bad_response",
            )

    # -- requests and retries --------------------------------------------------------------------

    def _params(
        self, messages: list[Message], temperature: float, max_tokens: int | None
    ) -> dict[str, Any]:
        # ``max_tokens`` rather than ``max_completion_tokens``: every OpenAI-compatible server
        # (llama-cpp-python included) understands it, the newer name is not universal.
        params: dict[str, Any] = {
            "model": self._config.model,
            "messages": messages,
            "temperature": temperature,
        }
        budget = max_tokens if max_tokens is not None else self._default_max_tokens
        if budget is not None:
            params["max_tokens"] = budget
        return params

    def _open_stream(self, params: dict[str, Any], abort: Abort | None) -> tuple[Any, str]:
        """Open a stream asking for usage in its last chunk; a server that rejects
        ``stream_options`` (HTTP 400/422 naming it) is asked again without it, once, and never again."""
        if not self._stream_usage:
            return self._call(lambda client: client.chat.completions.create(**params), abort)
        asked = {**params, "stream_options": {"include_usage": True}}
        try:
            return self._call(lambda client: client.chat.completions.create(**asked), abort)
        except ProviderError as exc:
            if not rejects_stream_options(exc.__cause__):
                raise
            self._stream_usage = False
            log.info("%s: the server rejects stream_options; streams are estimated", self.name)
            return self._call(lambda client: client.chat.completions.create(**params), abort)

    def _call(
        self, request: Callable[[openai.OpenAI], T], abort: Abort | None = None
    ) -> tuple[T, str]:
        """Run ``request`` with retries; returns its result and the URL that answered. With a
        guard (a cancel scope is open) the request's connection is shut down when the user stops
        it, and :class:`Cancelled` is raised instead of an error or a retry."""
        attempt = 0
        while True:
            if abort is not None and abort.cancelled:
                raise Cancelled()
            client, url = self._connect()
            try:
                if abort is None:
                    return request(client), url
                with abort.connecting():
                    return request(client), url
            except Exception as exc:
                if abort is not None and abort.cancelled:
                    raise Cancelled() from exc
                error = translate_error(exc, url, self._config)
                if error is None:
                    raise
                delay = self._retry_delay(error, exc, attempt)
                if delay is None:
                    if attempt:
                        error = ProviderError(
                            f"{error.message} (gave up after {attempt + 1} attempts)",
                            error.kind,
                            retryable=error.retryable,
                        )
                    raise error from exc
                attempt += 1
                log.info(
                    "%s: %s; retry %d/%d in %.2f s",
                    self._config.role,
                    error.kind,
                    attempt,
                    self._config.max_retries,
                    delay,
                )
                if abort is not None:  # a stop during the backoff ends it
                    abort.event.wait(delay)
                else:
                    self._sleep(delay)

    def _connect(self) -> tuple[openai.OpenAI, str]:
        """The client for the current URL, rebuilt if the URL moved (a restarted embedded server)."""
        url = self._current_url()
        with self._lock:
            if self._client is None or self._client_url != url:
                # The old client is dropped, not closed: another thread may still be reading a stream
                # from it; it closes its pool when collected.
                self._client = self._build_client(url)
                self._client_url = url
            return self._client, url

    def _current_url(self) -> str:
        cfg = self._config
        if self._before_request is not None:
            try:
                url: str | None = self._before_request()
            except ProviderError:
                raise
            except Exception as exc:
                kind: ProviderErrorKind = "embedded" if cfg.embedded else "unreachable"
                what = "the embedded model server" if cfg.embedded else "the model endpoint"
                raise ProviderError(f"could not prepare {what}: {exc}", kind) from exc
        else:
            url = cfg.base_url
        if not url:
            raise ProviderError(
                "the embedded model server is not running yet (no URL) — start the tutor through "
                "its front end, or set MLTUTOR_BASE_URL to use another server",
                "embedded",
            )
        return url

    def _build_client(self, url: str) -> openai.OpenAI:
        import openai  # deferred: see the class docstring

        key = self._config.api_key
        return openai.OpenAI(
            base_url=url,
            api_key=key.get_secret_value() if key is not None else PLACEHOLDER_API_KEY,
            timeout=self._config.timeout_s,
            max_retries=0,
            http_client=http_client(url),
        )

    def _retry_delay(self, error: ProviderError, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        A server's ``Retry-After`` wins (capped); otherwise exponential backoff with "equal jitter"
        (half fixed, half random) so concurrent callers do not retry in lockstep.
        """
        cfg = self._config
        if error.kind not in _TRANSIENT or not error.retryable or attempt >= cfg.max_retries:
            return None
        headers = getattr(getattr(exc, "response", None), "headers", None)
        server_says = retry_after(headers) if headers is not None else None
        if server_says is not None:
            return min(server_says, cfg.retry_after_cap_s)
        step = min(cfg.backoff_max_s, cfg.backoff_base_s * 2.0**attempt)
        return step / 2 + self._rng.uniform(0, step / 2)

    # -- responses ---------------------------------------------------------------------------------

    def _parse(self, response: Any, url: str) -> Completion:
        """A :class:`Completion` from a response object the client did not validate (it never does)."""
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise bad_response(url, "it has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise bad_response(url, "its first choice has no message")
        content = getattr(message, "content", None)
        if content is not None and not isinstance(content, str):
            raise bad_response(url, "the message content is not text")
        calls = [
            self._tool_call(index, call)
            for index, call in enumerate(getattr(message, "tool_calls", None) or [])
        ]
        usage_obj = getattr(response, "usage", None)
        usage = {
            key: value
            for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            if isinstance(value := getattr(usage_obj, key, None), int)
        }
        finish = getattr(choice, "finish_reason", None)
        model = getattr(response, "model", None)
        return Completion(
            content=html.unescape(content or "") if self._config.embedded else content or "",
            tool_calls=calls,
            finish_reason=finish if isinstance(finish, str) else None,
            usage=usage,
            model=model if isinstance(model, str) and model else self._config.model,
        )

    def _tool_call(self, index: int, call: Any) -> ToolCall:
        function = getattr(call, "function", None)
        name = getattr(function, "name", None)
        if not isinstance(name, str) or not name:
            raise ProviderError(
                "the model asked for a tool call without a tool name — ask again, or use a model "
                f"better at tool calls ({self._config.model_setting})",
                "malformed_tool_call",
                retryable=True,
            )
        call_id = getattr(call, "id", None)
        return ToolCall(
            id=call_id if isinstance(call_id, str) and call_id else f"call_{index}",
            name=name,
            arguments=self._decode_arguments(name, getattr(function, "arguments", None)),
        )

    def _decode_arguments(self, name: str, raw: Any) -> dict[str, Any]:
        """Tool-call arguments as a dict; the model wrote them, so anything may arrive."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return {}  # some servers send "" for a tool without parameters
        if isinstance(raw, dict):
            return raw
        problem: str
        if not isinstance(raw, str):
            problem = f"arguments of type {type(raw).__name__}"
            raw = repr(raw)
        else:
            try:
                decoded = json.loads(raw)
            except json.JSONDecodeError as exc:
                problem = f"arguments that are not valid JSON ({exc.msg} at character {exc.pos})"
            except (ValueError, RecursionError):  # an integer past 4300 digits, deep nesting
                problem = "arguments with a number too long or nesting too deep to read"
            else:
                if isinstance(decoded, dict):
                    return decoded
                problem = f"arguments that are JSON {type(decoded).__name__}, not an object"
        raise ProviderError(
            f"the model called tool {name!r} with {problem}: {raw[:SHOWN_CHARS]!r} — ask again, or "
            f"use a model better at tool calls ({self._config.model_setting})",
            "malformed_tool_call",
            retryable=True,
        )
