"""Text the metadata store can keep (``steadyml.data.storable``)."""

from __future__ import annotations

import json

import pytest

from steadyml.data.storable import MAX_DEPTH, escape_deep, escaped, text_problem


@pytest.mark.parametrize("text", ["", "plain", "é", "C-\U0001f600", "\u2028", "tab\there"])
def test_text_any_store_keeps_has_no_problem_and_is_not_changed(text: str) -> None:
    assert text_problem(text) is None
    assert escaped(text) == text


@pytest.mark.parametrize(
    ("text", "words", "shown"),
    [
        ("a\x00b", "contains a NUL character (\\u0000)", "a\\u0000b"),
        ("\ud800", "contains a lone surrogate (\\ud800: half of a UTF-16 pair", "\\ud800"),
        ("é\udfff", "contains a lone surrogate (\\udfff", "é\\udfff"),
    ],
)
def test_text_a_store_cannot_keep_is_named_and_escaped(text: str, words: str, shown: str) -> None:
    problem = text_problem(text)
    assert problem is not None and problem.startswith(words)
    assert escaped(text) == shown
    assert text_problem(escaped(text)) is None  # the escaped form is storable
    assert escaped(escaped(text)) == escaped(text)  # and escaping twice changes nothing


def test_escape_deep_escapes_keys_and_values_and_cuts_deep_nesting() -> None:
    value = {"\ud800": ["\x00", {"k\x00": 1.5}], "n": None}
    assert escape_deep(value) == {"\\ud800": ["\\u0000", {"k\\u0000": 1.5}], "n": None}
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    out = escape_deep(deep)
    json.dumps(out, ensure_ascii=False).encode("utf-8")
    for _ in range(MAX_DEPTH):
        out = out[0]
    assert out == "<a list of 1 item>"
