"""The embedded model's HTML entities (&#39; from llama-cpp's autoescaped template) are decoded."""

from __future__ import annotations

from mltutor.agent.llm import EndpointConfig, OpenAIChatModel
from mltutor.agent.llm.openai_chat import EntityDecoder
from tests.agent.fake_openai_server import FakeOpenAIServer, text


def test_decoder_handles_entities_split_across_pieces() -> None:
    d = EntityDecoder()
    pieces = ["f&", "#3", "9;(x) = g&#39", ";(x) & y &amp; z &"]
    assert "".join(d.feed(p) for p in pieces) + d.flush() == "f'(x) = g'(x) & y & z &"


def test_embedded_stream_and_complete_are_decoded() -> None:
    with FakeOpenAIServer(default=text("so f&#39;(x) = 2x &amp; done")) as server:
        embedded = OpenAIChatModel(
            EndpointConfig(base_url=server.url, model="m", embedded=True, max_retries=0)
        )
        assert (
            "".join(embedded.stream([{"role": "user", "content": "q"}])) == "so f'(x) = 2x & done"
        )
        assert (
            embedded.complete([{"role": "user", "content": "q"}]).content == "so f'(x) = 2x & done"
        )
        other = OpenAIChatModel(EndpointConfig(base_url=server.url, model="m", max_retries=0))
        assert "&#39;" in other.complete([{"role": "user", "content": "q"}]).content
