"""Text hygiene shared by everything that takes user text in: no dependencies, cheap to import."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(text: str) -> str:
    """``text`` with lone surrogates as U+FFFD. They come from bytes that were not UTF-8 (argv,
    stdin read with surrogateescape, ``\\ud800`` in JSON); kept, they cannot be encoded as UTF-8, so
    they would crash the embedder's tokenizer, a database write or printing the text back."""
    return _SURROGATE.sub("\ufffd", text)


__all__ = ["scrub_surrogates"]
