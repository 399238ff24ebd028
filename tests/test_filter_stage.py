"""`webtext filter` end to end on real Parquet: every document is kept or lands in
_removed/<reason>/ with its reason, stats/filter.json counts reasons, outputs are deterministic."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import random

import pyarrow.parquet as pq
import pytest

from corpus_tools.quality_classifier import load_texts
from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import write_records
from pipelines.webtext import main as webtext


def doc(text: str, url: str) -> dict:
    return new_document(id=make_doc_id(url, text), url=url, text=text, source="text",
                        metadata=json.dumps({"origin": "test"}))


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory):
    news = load_texts([str(shared_data / "corpora" / "lee-news-background.txt")])
    german = (shared_data / "extraction" / "htmltotext" / "de" / "text" /
              "news-tagesschau-coronavirus-grossbritannien-109.txt").read_text(encoding="utf-8")
    line = "The committee met again on Tuesday to discuss the budget for the new hospital."
    # long news articles, one sentence per line (C4 keeps lines that end a sentence)
    good = [a.replace(". ", ".\n") for a in news if len(a) > 1500][:6]
    expected = {
        "kept": [doc(t, f"https://news.example/{i}") for i, t in enumerate(good)],
        "language": [doc(german, "https://de.example/1")],
        "min_length": [doc("The government announced on Monday that the new policy will take effect next year.",
                           "https://short.example/1")],
        "gopher_quality": [doc(" ".join(["The minister said that the plan would work well for the country."] * 3)
                               + " " + "x" * 40, "https://few-words.example/1")],
        "gopher_repetition": [doc("\n".join([line] * 12), "https://repeat.example/1")],
        # a real article whose lines have lost their final punctuation: C4 drops every line
        "c4": [doc("\n".join(s.rstrip(".") for s in news[-1].split(". ")), "https://no-punct.example/1")],
    }
    folder = tmp_path_factory.mktemp("docs")
    rows = [d for ds in expected.values() for d in ds]
    random.Random(0).shuffle(rows)
    write_records(rows[: len(rows) // 2], str(folder / "part-00000-of-00002.parquet"))
    write_records(rows[len(rows) // 2 :], str(folder / "part-00001-of-00002.parquet"))
    return folder, expected


def read_dir(path: str) -> list[dict]:
    rows = []
    for f in sorted(glob.glob(os.path.join(path, "*.parquet"))):
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def test_filter_stage_accounts_for_every_document(inputs, tmp_path):
    folder, expected = inputs
    run = str(tmp_path / "run")
    assert webtext(["filter", "--input", str(folder), "--out", run]) == 0
    kept = read_dir(os.path.join(run, "filtered"))
    assert sorted(d["id"] for d in kept) == sorted(d["id"] for d in expected["kept"])
    assert all(d["language"] == "en" and d["language_score"] >= 0.65 for d in kept)
    assert all(d["quality_score"] is None for d in kept)  # no classifier in the default recipe
    for reason, docs in expected.items():
        if reason == "kept":
            continue
        removed = read_dir(os.path.join(run, "filtered", "_removed", reason))
        assert sorted(d["id"] for d in removed) == sorted(d["id"] for d in docs), reason
        for d in removed:
            meta = json.loads(d["metadata"])
            assert meta["filter"]["reason"] == reason and meta["filter"]["detail"]
            assert meta["origin"] == "test"  # earlier metadata is kept
            assert d["text"] == next(x["text"] for x in docs if x["id"] == d["id"])  # full document
    stats = json.load(open(os.path.join(run, "stats", "filter.json")))
    n_in = sum(len(v) for v in expected.values())
    assert stats["records_in"] == n_in and stats["records_out"] == len(expected["kept"])
    assert stats["reasons"] == {r: len(v) for r, v in expected.items() if r != "kept"}
    assert stats["parameters"]["filter"]["languages"] == ["en"]
    assert os.path.exists(os.path.join(run, "filtered", "_SUCCESS"))

    # same input and recipe -> byte-identical kept shards
    run2 = str(tmp_path / "run2")
    assert webtext(["filter", "--input", str(folder), "--out", run2]) == 0
    for f in sorted(glob.glob(os.path.join(run, "filtered", "*.parquet"))):
        other = os.path.join(run2, "filtered", os.path.basename(f))
        assert open(f, "rb").read() == open(other, "rb").read()


def test_filter_stage_with_quality_classifier(inputs, shared_data, tmp_path, capsys):
    folder, expected = inputs
    news = load_texts([str(shared_data / "corpora" / "lee-news-background.txt")])
    rng = random.Random(3)
    neg = [" ".join(rng.sample(t.split(), len(t.split()))) for t in news[150:]]
    model = str(tmp_path / "quality.bin")
    assert webtext(["quality", "train", "--positive", str(shared_data / "corpora" / "lee-news-background.txt"),
                    "--negative", str(tmp_path / "neg.txt"), "--out", model]) == 2  # missing negatives: one-line error
    (tmp_path / "neg.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    assert webtext(["quality", "train", "--positive", str(shared_data / "corpora" / "lee-news-background.txt"),
                    "--negative", str(tmp_path / "neg.txt"), "--out", model, "--epoch", "50", "--dim", "16"]) == 0
    assert json.load(open(model + ".json"))["validation"]["accuracy"] > 0.5
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'[filter]\nquality_model = "{model}"\nquality_alpha = 9.0\n', encoding="utf-8")
    run = str(tmp_path / "run")
    assert webtext(["filter", "--input", str(folder), "--out", run, "--recipe", str(recipe)]) == 0
    kept = read_dir(os.path.join(run, "filtered"))
    by_clf = read_dir(os.path.join(run, "filtered", "_removed", "quality_classifier"))
    # the classifier sees exactly the documents that pass the rules; each gets a score
    assert sorted(d["id"] for d in kept + by_clf) == sorted(d["id"] for d in expected["kept"])
    assert all(0.0 <= d["quality_score"] <= 1.0 for d in kept + by_clf)
    assert all(json.loads(d["metadata"])["filter"]["reason"] == "quality_classifier" for d in by_clf)
    stats = json.load(open(os.path.join(run, "stats", "filter.json")))
    assert stats["records_out"] == len(kept)
    assert stats["reasons"].get("quality_classifier", 0) == len(by_clf)
    # the model's content is recorded: retrained at the same path, the finished filter is changed
    digest = stats["parameters"]["files"]["filter.quality_model"]
    assert digest == "sha256:" + hashlib.sha256(open(model, "rb").read()).hexdigest()
    assert webtext(["filter", "--input", str(folder), "--out", run, "--recipe", str(recipe)]) == 0  # same: skipped
    assert webtext(["quality", "train", "--positive", str(shared_data / "corpora" / "lee-news-background.txt"),
                    "--negative", str(tmp_path / "neg.txt"), "--out", model, "--epoch", "40", "--dim", "16"]) == 0
    capsys.readouterr()
    assert webtext(["filter", "--input", str(folder), "--out", run, "--recipe", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "([filter] quality_model: the file's content changed since" in err and "--force filter" in err, err
    assert webtext(["filter", "--input", str(folder), "--out", run, "--recipe", str(recipe), "--force", "filter"]) == 0


def test_everything_removed_still_counts_zero_out(inputs, tmp_path):
    folder, expected = inputs
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('[filter]\nlanguages = ["fr"]\n', encoding="utf-8")
    run = str(tmp_path / "run")
    assert webtext(["filter", "--input", str(folder), "--out", run, "--recipe", str(recipe)]) == 0
    n_in = sum(len(v) for v in expected.values())
    stats = json.load(open(os.path.join(run, "stats", "filter.json")))
    assert stats["records_in"] == n_in and stats["records_out"] == 0
    assert stats["reasons"] == {"language": n_in}
    assert read_dir(os.path.join(run, "filtered")) == []
    assert len(read_dir(os.path.join(run, "filtered", "_removed", "language"))) == n_in


def test_checks_skipped_for_a_language_are_counted_in_stats(shared_data, tmp_path, capfd):
    # Japanese has no spaces between words and no segmenter here: the word checks do not apply to
    # it, and the stats say on how many documents each was skipped. Chinese gets its words from a
    # segmenter (in the Beam workers too) and English skips nothing.
    from corpus_tools.gopher import NGRAM_CHECKS, WORD_CHECKS
    from tests.test_quality_rules import CCTV, JAPANESE

    zh = (shared_data / "extraction" / "htmltotext" / "zh" / "text" / f"{CCTV}.txt").read_text(encoding="utf-8")
    news = [t for t in load_texts([str(shared_data / "corpora" / "lee-news-background.txt")]) if len(t) > 1500][:1]
    folder = tmp_path / "docs"
    write_records([doc(zh, "https://zh.example/1"), doc(JAPANESE, "https://ja.example/1"),
                   doc(news[0], "https://news.example/1")],
                  str(folder / "part-00000-of-00001.parquet"))
    recipe = tmp_path / "r.toml"
    recipe.write_text('[filter]\nlanguages = ["en", "zh", "ja"]\n')
    out = tmp_path / "run"
    assert webtext(["filter", "--out", str(out), "--input", str(folder), "--recipe", str(recipe)]) == 0
    stats = json.loads((out / "stats" / "filter.json").read_text())
    assert stats["records_in"] == 3
    # two Beam worker processes: each loads the segmenter itself, silently; the same shards come out
    multi = tmp_path / "multi"
    assert webtext(["filter", "--out", str(multi), "--input", str(folder), "--recipe", str(recipe),
                    "--direct_num_workers=2", "--direct_running_mode=multi_processing"]) == 0
    assert read_dir(str(multi / "filtered")) == read_dir(str(out / "filtered"))
    assert json.loads((multi / "stats" / "filter.json").read_text())["counters"] == stats["counters"]
    err = capfd.readouterr().err
    assert "prefix dict" not in err and "jieba" not in err.lower()
    skipped = stats["details"]["skipped_checks"]
    assert skipped == {**{f"gopher_quality.{c}": 1 for c in WORD_CHECKS},
                       **{f"gopher_repetition.{c}": 1 for c in NGRAM_CHECKS}, "c4.min_words_per_line": 1}
    assert stats["counters"]["skipped.gopher_quality.stop_words"] == 1
    kept = {d["url"]: d for d in read_dir(str(out / "filtered"))}
    assert kept["https://zh.example/1"]["language"] == "zh"
    assert "filter_skipped" not in json.loads(kept["https://zh.example/1"]["metadata"])
    assert sorted(json.loads(kept["https://ja.example/1"]["metadata"])["filter_skipped"]) == sorted(skipped)