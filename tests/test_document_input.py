"""Every stage that reads documents (filter, dedup, bloom, decontaminate, contamination --exact) checks them the same
way (pipelines/document_input.py): a bad record is a dead letter with its reason, a value that
converts to its column's type without loss is converted, and a file that cannot hold documents
is refused in one line. Real Parquet files through the command line."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_tools.bloom import open_bloom
from corpus_tools.ngrams import HASH_ID, NgramHasher, count_ngrams, words
from corpus_tools.quality_classifier import load_texts
from corpus_tools.rundir import RunDir
from corpus_tools.schema import DOC_SCHEMA, make_doc_id, new_document
from corpus_tools.shards import read_table, write_records
from pipelines.webtext import main as webtext

STAGE_DIRS = {"filter": "filtered", "dedup": "dedup"}


@pytest.fixture(scope="module")
def articles(shared_data):
    """Long English news articles, one sentence per line: documents filter keeps and dedup keeps."""
    news = load_texts([str(shared_data / "corpora" / "lee-news-background.txt")])
    return [a.replace(". ", ".\n") for a in news if len(a) > 1500][:6]


def doc(text, url, **fields):
    return new_document(id=make_doc_id(url, text), url=url, text=text, source="text", **fields)


@pytest.fixture(scope="module")
def bad_records(articles, tmp_path_factory):
    """One file in DOC_SCHEMA, one written by another tool: ``warc_offset`` as strings, nulls allowed."""
    folder = tmp_path_factory.mktemp("bad_records")
    good = [doc(t, f"https://news.example/{i}", warc_offset=100 + i) for i, t in enumerate(articles[:2])]
    write_records(good, str(folder / "part-0.parquet"))
    as_string = doc(articles[2], "https://news.example/2", warc_file="w.warc.gz", warc_offset=117328)
    rows = [
        dict(as_string, warc_offset="117328"),  # converts without loss: kept, as 117328
        dict(doc(articles[3], "https://news.example/3", warc_file="w.warc.gz"), warc_offset="12ab"),
        dict(doc(articles[4], "https://news.example/4", warc_file="w.warc.gz", warc_offset="9"), id=None),
        dict(doc("x", "https://news.example/5", warc_file="w.warc.gz", warc_offset="10"), text=None),
    ]
    loose = pa.schema([pa.field(f.name, pa.string() if f.name == "warc_offset" else f.type) for f in DOC_SCHEMA])
    pq.write_table(pa.Table.from_pylist(rows, schema=loose), str(folder / "part-1.parquet"))
    return folder, {"good": [d["id"] for d in good], "as_string": as_string}


@pytest.mark.parametrize("stage", ["filter", "dedup"])
def test_bad_records_are_dead_letters_and_numeric_strings_are_converted(stage, bad_records, tmp_path):
    folder, expect = bad_records
    run = tmp_path / "run"
    assert webtext([stage, "--out", str(run), "--input", str(folder)]) == 0
    stats = json.loads((run / "stats" / f"{stage}.json").read_text())
    assert stats["reasons"] == {"bad_warc_offset": 1, "missing_id": 1, "missing_text": 1}
    assert stats["records_in"] == 6 and stats["records_out"] == 3
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values())
    kept = read_table(str(run / STAGE_DIRS[stage])).to_pylist()
    assert sorted(d["id"] for d in kept) == sorted(expect["good"] + [expect["as_string"]["id"]])
    converted = next(d for d in kept if d["id"] == expect["as_string"]["id"])
    assert converted["warc_offset"] == 117328 and converted["text"] == expect["as_string"]["text"]
    rejected = read_table(str(run / STAGE_DIRS[stage] / "_rejected")).to_pylist()
    assert sorted((r["stage"], r["reason"], r["source"], r["offset"]) for r in rejected) == [
        (stage, "bad_warc_offset", "w.warc.gz", None),  # the offset itself is what is wrong
        (stage, "missing_id", "w.warc.gz", 9),
        (stage, "missing_text", "w.warc.gz", 10)]
    assert "'12ab'" in next(r["detail"] for r in rejected if r["reason"] == "bad_warc_offset")


@pytest.mark.parametrize("stage", ["filter", "dedup"])
def test_a_file_that_cannot_hold_documents_is_refused_in_one_line(stage, articles, tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_records([doc(articles[0], "https://news.example/0")], str(folder / "part-0.parquet"))
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), str(folder / "part-1.parquet"))
    run = tmp_path / "run"
    assert webtext([stage, "--out", str(run), "--input", str(folder)]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.endswith("] running")]
    assert lines == [f"webtext {stage}: error: {folder / 'part-1.parquet'} is not a document file: "
                     "no 'id' and no 'text' column (its columns: a, b)"]
    assert not RunDir(run).is_done(stage)


def _rejected(folder):
    return sorted((r["stage"], r["reason"], r["source"], r["offset"]) for r in read_table(str(folder)).to_pylist())


def _bad_records_rejected(stage):
    return [(stage, "bad_warc_offset", "w.warc.gz", None), (stage, "missing_id", "w.warc.gz", 9),
            (stage, "missing_text", "w.warc.gz", 10)]


@pytest.fixture(scope="module")
def empty_text(tmp_path_factory):
    """A document whose text is the empty string: a document (filter judges it), not a dead letter."""
    folder = tmp_path_factory.mktemp("empty_text")
    d = doc("", "https://news.example/empty")
    write_records([d], str(folder / "part-0.parquet"))
    return folder, d


def test_bloom_build_dead_letters_bad_records_and_hashes_the_rest(bad_records, empty_text, articles, tmp_path, capsys):
    folder, expect = bad_records
    out = tmp_path / "bloom"
    assert webtext(["bloom", "build", "--input", str(folder), str(empty_text[0]), "--out", str(out),
                    "--self-check", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] == 7  # 6 records + the empty text
    assert summary["rejected"] == {"bad_warc_offset": 1, "missing_id": 1, "missing_text": 1}
    assert _rejected(out / "_rejected") == _bad_records_rejected("bloom")
    # the filter holds the n-grams of the documents and only those (the empty text has none)
    texts = articles[:3]
    assert summary["n_inserted"] == sum(count_ngrams(len(words(t)), 8) for t in texts)
    h1, h2, _ = NgramHasher().hash_texts(texts, 8)
    assert open_bloom(str(out), expected_hash_id=HASH_ID).contains_hashes(h1, h2).all()


def test_decontaminate_dead_letters_bad_records_and_cuts_the_rest(bad_records, empty_text, articles, tmp_path, capsys):
    folder, expect = bad_records
    bench = tmp_path / "bench.jsonl"
    passage = " ".join(articles[0].split()[100:130])  # a test-set example planted in the first document
    bench.write_text(json.dumps({"text": passage}) + "\n", encoding="utf-8")
    out = tmp_path / "clean"
    assert webtext(["decontaminate", "--input", str(folder), str(empty_text[0]), "--bench", f"b={bench}",
                    "--out", str(out)]) == 0
    stats = json.loads((out / "_decontamination.json").read_text())
    assert stats["documents_in"] == 7 and stats["documents_rejected"] == 3
    assert stats["rejected"] == {"bad_warc_offset": 1, "missing_id": 1, "missing_text": 1}
    assert stats["documents_clean"] == 3 and stats["documents_split"] == 1
    assert _rejected(out / "_rejected") == _bad_records_rejected("decontaminate")
    docs = read_table(str(out)).to_pylist()
    assert len(docs) == stats["documents_out"] == 3 + stats["pieces_out"]
    untouched = {d["id"]: d for d in docs if "decontaminated" not in (d["metadata"] or "")}
    assert sorted(untouched) == sorted([expect["good"][1], expect["as_string"]["id"], empty_text[1]["id"]])
    assert untouched[expect["as_string"]["id"]]["warc_offset"] == 117328  # converted, as filter does
    pieces = [json.loads(d["metadata"])["decontaminated"] for d in docs if d["id"] not in untouched]
    assert pieces and {p["from_id"] for p in pieces} == {expect["good"][0]}
    assert all(passage not in d["text"] for d in docs)


@pytest.mark.parametrize("command", ["bloom", "decontaminate"])
def test_bloom_and_decontaminate_refuse_a_file_that_cannot_hold_documents(command, articles, tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_records([doc(articles[0], "https://news.example/0")], str(folder / "part-0.parquet"))
    pq.write_table(pa.table({"id": ["a", "b"], "url": ["https://x.example/", "https://y.example/"]}),
                   str(folder / "part-1.parquet"))  # a table of links given by mistake
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"text": articles[1]}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = {"bloom": ["bloom", "build", "--input", str(folder), "--out", str(out)],
            "decontaminate": ["decontaminate", "--input", str(folder), "--bench", f"b={bench}", "--out", str(out)]}
    assert webtext(argv[command]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"webtext {'bloom build' if command == 'bloom' else command}: error: {folder / 'part-1.parquet'} "
        "is not a document file: "
        "no 'text' column (its columns: id, url)"]
    assert not out.exists()


def test_contamination_exact_reads_the_corpus_as_the_bloom_filter_does(bad_records, articles, tmp_path, capsys):
    """--exact re-reads the corpus: records that are not documents are left out and counted under the
    shared reasons (they were counted, if without text, under a private key, and a null id or a
    badly typed value was read as a document); a file that cannot hold documents is refused."""
    folder, _ = bad_records
    bloom = tmp_path / "bloom"
    assert webtext(["bloom", "build", "--input", str(folder), "--out", str(bloom), "--self-check", "0"]) == 0
    bench = tmp_path / "bench.jsonl"
    planted = " ".join(articles[0].split()[100:130])  # in a good document
    outside = " ".join(articles[3].split()[100:130])  # only in the record with warc_offset "12ab"
    bench.write_text("".join(json.dumps({"text": t}) + "\n" for t in (planted, outside)), encoding="utf-8")
    out = tmp_path / "report"
    capsys.readouterr()
    assert webtext(["contamination", "report", "--bloom", str(bloom), "--bench", f"b={bench}", "--out", str(out),
                    "--exact", "--corpus", str(folder)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["exact_documents"] == 3
    assert report["exact_records_rejected"] == {"bad_warc_offset": 1, "missing_id": 1, "missing_text": 1}
    assert report["benchmarks"][0]["dirty_examples"] == 1  # the planted passage; the other is in no document
    assert "(3 documents read; left out as not documents: bad_warc_offset 1, missing_id 1, missing_text 1)" in \
        (out / "report.md").read_text()

    links = tmp_path / "links.parquet"
    pq.write_table(pa.table({"id": ["a"], "url": ["https://x.example/"]}), str(links))
    assert webtext(["contamination", "report", "--bloom", str(bloom), "--bench", f"b={bench}", "--out",
                    str(tmp_path / "r2"), "--exact", "--corpus", str(links)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"webtext contamination report: error: {links} is not a document file: no 'text' column (its columns: id, url)"]
