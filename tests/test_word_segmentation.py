"""corpus_tools.word_segmentation: whitespace words for spaced languages (as before), jieba's words
for Chinese (loaded lazily, silently, without a cache file, the same in every process), and a
refusal for unspaced languages without a segmenter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_tools.word_segmentation import SEGMENTED, is_punctuation, splits_words, words

ROOT = Path(__file__).resolve().parents[1]
CCTV = Path("extraction", "htmltotext", "zh", "text", "news-cctv-ARTI6wNyfAmZU6pd8NQHtmf6200803.txt")


def test_spaced_languages_are_split_on_whitespace_as_before(shared_data):
    texts = [(shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8")[:20000],
             "a\tb\nc\u00a0d  e\u3000f\r\n", "", "   "]
    for text in texts:
        for language in (None, "en", "de", "hr", "ru", "ar"):
            assert words(text, language) == text.split()


def test_chinese_words_are_jiebas_with_whitespace_dropped_and_punctuation_kept():
    assert SEGMENTED == {"zh", "wuu", "yue"}
    assert words("今年上半年我国GDP十强的城市排位已经正式出炉，按顺序排名分别是：上海、北京。", "zh") == [
        "今年", "上半年", "我国", "GDP", "十强", "的", "城市", "排位", "已经", "正式", "出炉", "，",
        "按", "顺序", "排名", "分别", "是", "：", "上海", "、", "北京", "。"]
    assert words("立秋 是\n二十四节气\r\n之一 3.5%  C++", "zh") == ["立秋", "是", "二十四节气", "之一", "3.5%", "C++"]
    assert words("", "zh") == [] and words(" \n ", "zh") == []
    assert [w for w in words("约翰·史密斯说……", "zh") if is_punctuation(w)] == ["·", "…", "…"]


def test_punctuation_tokens():
    for token in ("，", "。", "、", "“", "”", "…", "·", "——", "!?", "#", "$", "+", "《》"):
        assert is_punctuation(token), token
    for token in ("的", "GDP", "3.5%", "C++", "2020", "a", "T恤"):
        assert not is_punctuation(token), token


def test_unspaced_languages_without_a_segmenter_are_refused():
    for language in ("ja", "th", "lo", "km", "my", "bo", "dz"):
        assert not splits_words(language)
        with pytest.raises(ValueError, match=f"no word segmenter for language '{language}'"):
            words("東京都は十五日", language)
    for language in (None, "en", "de", "zh", "wuu", "yue"):
        assert splits_words(language)


SCRIPT = r"""
import json, sys
from corpus_tools.c4 import C4Lines
from corpus_tools.document_filter import MinLength
from corpus_tools.gopher import GopherQuality, GopherRepetition
english = open(sys.argv[1], encoding="utf-8").read()[:50000]
for rule in (GopherQuality().check, GopherRepetition().check, C4Lines().apply, MinLength().check):
    rule(english, "en"); rule(english, None); rule(english, "de")
assert "jieba" not in sys.modules, "English loaded the Chinese segmenter"
from corpus_tools.word_segmentation import words
chinese = open(sys.argv[2], encoding="utf-8").read()
tokens = words(chinese, "zh")
assert "jieba" in sys.modules
print(json.dumps([tokens, GopherQuality().check(chinese, "zh"), GopherRepetition().check(chinese, "zh")],
                 ensure_ascii=False))
"""


def test_jieba_loads_lazily_silently_without_a_cache_file_and_the_same_in_every_process(shared_data, tmp_path):
    # jieba's own loader would print "Building prefix dict ..." and write jieba.cache to the temp folder
    outputs = []
    for seed in ("1", "2"):
        temp = tmp_path / f"tmp{seed}"
        temp.mkdir()
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED=seed, TMPDIR=str(temp))
        run = subprocess.run([sys.executable, "-c", SCRIPT, str(shared_data / "corpora" / "lee-news-background.txt"),
                              str(shared_data / CCTV)], capture_output=True, text=True, env=env, cwd=tmp_path,
                             timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
        assert list(temp.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["tmp1", "tmp2"][:int(seed)]
        outputs.append(run.stdout)
    tokens, quality, repetition = json.loads(outputs[0])
    assert outputs[0] == outputs[1]  # another process, another hash seed: the same words and decisions
    assert tokens == words((shared_data / CCTV).read_text(encoding="utf-8"), "zh") and len(tokens) == 751
    assert quality is None and repetition is None


def test_chinese_words_of_a_text_are_the_words_of_its_lines(shared_data):
    """``words(text, "zh")`` is computed line by line (so C4's words per line reuse Gopher's
    segmentation): it must equal jieba on the whole text, whitespace dropped, for the real Chinese
    pages and for text whose lines end in every separator ``str.splitlines`` knows, next to Latin
    letters, digits and jieba's joining characters (``.%-``) that could glue two lines."""
    from corpus_tools.word_segmentation import jieba_tokenizer, line_words

    def whole(text: str) -> list[str]:
        return [w for w in jieba_tokenizer().cut(text, cut_all=False, HMM=True) if w and not w.isspace()]

    pages = [p.read_text(encoding="utf-8") for p in sorted((shared_data / "extraction" / "htmltotext" / "zh" /
                                                               "text").iterdir())]
    seps = ["\n", "\r\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    glued = "".join(f"中华人民共和国abc{i}.5%-{sep}-3.0%xyz共和国人民" for i, sep in enumerate(seps)) + "北京大学生"
    for text in pages + [glued, "  前后空白  \n\n  重复的行\n重复的行  \n"]:
        assert len(text) > 20
        assert words(text, "zh") == whole(text), text[:80]
        lines = line_words(text, "zh")
        assert [w for line in text.splitlines() for w in lines[line.strip()]] == whole(text)
    # spaced languages: whitespace tokens per line, as words() gives them
    assert line_words("a b  c\n d e \n", "en") == {"a b  c": ("a", "b", "c"), "d e": ("d", "e")}
