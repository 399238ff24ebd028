"""Chinese and Japanese in the n-grams of the Bloom filter, the contamination report and
decontamination (corpus_tools.ngrams): each CJK character is a word of its own, as in MinHash
(corpus_tools.cjk is the one definition); text without CJK characters keeps its words and hashes."""

from __future__ import annotations

import json
import re

import pytest

from corpus_tools import cjk
from corpus_tools.minhash import shingle_set
from corpus_tools.ngrams import (HASH_ID, V1_HASH_ID, WORD_CJK_RE, WORD_RE, NgramHasher, normalize, word_spans,
                                 words)
from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import read_table, write_records
from pipelines.webtext import main as webtext

# written out here, not taken from corpus_tools.cjk: kana, CJK ideographs (Extension A, unified, compatibility)
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
REFERENCE_WORD = re.compile(f"[{CJK}](?<=[^\\W_])|[^\\W_{CJK}]+")  # a CJK character that is alphanumeric, or a run


def reference_grams(text, n):
    w = REFERENCE_WORD.findall(text.lower())
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


@pytest.fixture(scope="module")
def zh(shared_data):
    """Real Chinese text (extraction/htmltotext/zh: a CCTV news article, a Baidu Baike page):
    ``passage``, the first three sentences of the page's first paragraph, is the test example that
    leaks into the corpus; ``clean``, two sentences of another paragraph, does not."""
    root = shared_data / "extraction" / "htmltotext" / "zh" / "text"
    news = (root / "news-cctv-ARTI6wNyfAmZU6pd8NQHtmf6200803.txt").read_text(encoding="utf-8")
    wiki = [p.strip() for p in (root / "wiki-baike-liqiu.txt").read_text(encoding="utf-8").split("\n\n")]
    first = next(p for p in wiki if p.startswith("立秋，是二十四节气"))
    passage = first[:first.index("为秋季的起点") + len("为秋季的起点")]
    other = next(p for p in wiki if p.startswith("秋季是暑热与凉寒交替的季节"))
    clean = other[other.index("进入秋季后"):other.index("萧落。") + 3]
    # the rest of the page, less the paragraphs with the clean sentences (the page repeats some text)
    rest = [p for p in wiki if len(p) > 30 and p != first and not reference_grams(p, 8) & reference_grams(clean, 8)]
    return {"news": news, "passage": passage, "clean": clean, "rest": rest}


# ---------------------------------------------------------------- the words
def test_each_cjk_character_is_a_word_and_other_scripts_keep_their_words():
    assert words("GDP十强，上海2020年") == ["gdp", "十", "强", "上", "海", "2020", "年"]
    assert normalize("東京タワーは、ＴＯＫＹＯ　2023年に。") == "東 京 タ ワ ー は ｔｏｋｙｏ 2023 年 に"
    assert normalize("ジョン・スミス「人々」") == "ジ ョ ン ス ミ ス 人 々"  # ・ separates; 々 is no CJK character
    assert words("한국어 텍스트입니다. 中文") == ["한국어", "텍스트입니다", "中", "文"]  # Hangul: spaced words
    assert words("Don't  STOP-believing!") == ["don", "t", "stop", "believing"]


def test_word_spans_of_cjk_text_point_into_the_original_text():
    text = "İstanbul'da 東京タワー: CAFÉ上海"
    ws, starts, ends = word_spans(text)
    assert ws == words(text) == ["i", "stanbul", "da", "東", "京", "タ", "ワ", "ー", "café", "上", "海"]
    # "İ" lower-cases to two characters: offsets are mapped back to the original text
    assert [text[s:e] for s, e in zip(starts, ends)] == ["İ", "stanbul", "da", "東", "京", "タ", "ワ", "ー",
                                                         "CAFÉ", "上", "海"]


def test_text_without_cjk_characters_has_the_words_of_the_plain_expression(shared_data):
    """The fast path (no CJK character: [^\\W_]+ alone) and the CJK expression agree on such text,
    so which one splits a text never changes its words."""
    texts = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
    texts += ["Zürich, Straße — naïve café: 10 000 € ! Ｆｕｌｌ－ｗｉｄｔｈ ＡＢＣ １２３ \ufffd x_y",
              "Привет, мир! Ελληνικά γράμματα. 한국어 텍스트 ١٢٣ ⅻ 〇〆々"]
    for t in texts:
        low = t.lower()
        assert words(t) == WORD_RE.findall(low) == WORD_CJK_RE.findall(low)


def test_ngrams_and_minhash_agree_on_which_characters_are_words_of_their_own():
    """Every alphanumeric code point of the Basic Multilingual Plane: a word of its own in the n-grams
    exactly when it is one in MinHash's shingles (both from corpus_tools.cjk)."""
    own_in_ngrams, own_in_minhash = [], []
    for cp in range(0x80, 0x10000):
        ch = chr(cp)
        if not ch.isalnum() or 0xD800 <= cp <= 0xDFFF or len(ch.lower()) > 1:
            continue
        text = "xx" + ch + "yy"
        if words(text) == ["xx", ch.lower(), "yy"]:
            own_in_ngrams.append(cp)
        if len(shingle_set(text, 1)) == 3:  # xx, the character, yy
            own_in_minhash.append(cp)
    assert own_in_ngrams == own_in_minhash
    expected = [cp for lo, hi in cjk.CHARACTERS for cp in range(lo, hi + 1) if chr(cp).isalnum()]
    assert own_in_ngrams == expected and len(expected) > 20_000
    # the documented difference: a CJK character that is not alphanumeric (・) is a word in MinHash only
    assert words("xx・yy") == ["xx", "yy"] and len(shingle_set("xx・yy", 1)) == 3


# ---------------------------------------------------------------- the hashes
def test_english_ngram_hashes_are_the_ones_of_hash_id_v1():
    """Only the id string changed for text without CJK characters: these values were computed by
    the v1 code (b0413ed), so filters of English text keep their bits."""
    assert HASH_ID != V1_HASH_ID and HASH_ID.startswith("webtext-ngram-v2:")
    text = "Don't STOP-believing: the quick brown fox jumps over the lazy dog, 42 times (Café <unk>)!"
    h1, h2 = NgramHasher().hash_text(text, 8)
    assert len(h1) == 10
    assert [(int(a), int(b)) for a, b in zip(h1[:3], h2[:3])] == [
        (0x7301D5A7FF885BC7, 0x1BBC1B6E69048B5F), (0x3FB0C52A873942B3, 0x414A2DE979EA3D44),
        (0xB658EE95C519B5B2, 0x92A4A465A2C05EB1)]
    h1, h2 = NgramHasher().hash_text(text, 13)
    assert [(int(a), int(b)) for a, b in zip(h1, h2)] == [
        (0x280A83FAF0F32CF7, 0x60DF2F73120EA893), (0xCF08EE213CB18811, 0x0F685180C98BDF7E),
        (0xF0F43F66560EFB68, 0xED2456AFE4B29816), (0xFB5F5E1E71CCEC21, 0xD540ECECBBD261E5),
        (0xF467CECEE59B5571, 0x126428B4B8FD7C09)]


# ---------------------------------------------------------------- the report and decontamination
def _write_docs(folder, texts):
    docs = [new_document(id=make_doc_id(f"http://zh/{i}", t), url=f"http://zh/{i}", text=t)
            for i, t in enumerate(texts)]
    write_records(sorted(docs, key=lambda d: d["id"]), str(folder / "part-00000-of-00001.parquet"))
    return docs


def test_a_chinese_test_passage_inside_a_corpus_document_is_reported(zh, tmp_path, capsys):
    """The passage is pasted into a news article with no punctuation either side, so its first and
    last clauses run on into the article's text: as clause "words" (v1) none of its 8-grams was
    in the corpus; as characters, all are."""
    leak = zh["news"][:600] + "据报道" + zh["passage"] + "专家表示" + zh["news"][600:]
    _write_docs(tmp_path / "docs", [leak] + zh["rest"])
    bench = tmp_path / "zh-bench.txt"
    bench.write_text(zh["passage"] + "\n" + zh["clean"] + "\n", encoding="utf-8")
    assert webtext(["bloom", "build", "--input", str(tmp_path / "docs"), "--out", str(tmp_path / "bloom"),
                    "--self-check", "1000"]) == 0
    capsys.readouterr()
    assert webtext(["contamination", "report", "--bloom", str(tmp_path / "bloom"), "--bench", f"zhbench={bench}",
                    "--out", str(tmp_path / "rep")]) == 0
    report = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    b = report["benchmarks"][0]
    leaked, clean = reference_grams(zh["passage"], 8), reference_grams(zh["clean"], 8)
    assert len(leaked) > 50 and len(clean) > 40
    assert not clean & set().union(*(reference_grams(t, 8) for t in [leak] + zh["rest"]))
    assert b["ngrams"] == len(leaked | clean)
    assert b["ngrams_found"] == len(leaked)  # every 8-gram of the passage, none of the other sentence
    assert (b["dirty_examples"], b["clean_examples"]) == (1, 1)
    with open(tmp_path / "rep" / "examples-zhbench.csv", encoding="utf-8") as fh:
        rows = fh.read().splitlines()[1:]
    assert [r.split(",")[-1] for r in rows] == ["1", "0"]  # the passage dirty, the other sentence clean
    assert report["hash_id"] == HASH_ID and "CJK character" in report["normalisation"]


def test_decontamination_cuts_the_chinese_passage_with_its_window(zh, tmp_path, capsys):
    head = zh["news"] + "据报道"
    longest = max(zh["rest"], key=len)
    tail = "专家表示" + longest
    leak = head + zh["passage"] + tail
    assert len(head) > 400 and len(tail) > 400
    other = next(p for p in zh["rest"] if p != longest)  # a Chinese document without the passage: untouched
    _write_docs(tmp_path / "docs", [leak, other])
    bench = tmp_path / "zh-bench.txt"
    bench.write_text(zh["passage"] + "\n", encoding="utf-8")
    assert webtext(["decontaminate", "--input", str(tmp_path / "docs"), "--bench", f"zhbench={bench}",
                    "--out", str(tmp_path / "clean"), "--num-shards", "1"]) == 0
    texts = sorted(read_table(str(tmp_path / "clean")).column("text").to_pylist(), key=len)
    start, end = len(head), len(head) + len(zh["passage"])
    # the passage's 13-grams run from its first character to its last: cut with 200 characters either side
    assert sorted([other, leak[:start - 200], leak[end + 200:]], key=len) == texts
    stats = json.loads((tmp_path / "clean" / "_decontamination.json").read_text())
    assert stats["documents_split"] == 1 and stats["chars_removed"] == end - start + 400
    assert stats["benchmark_ngrams"] == len(reference_grams(zh["passage"], 13))
