"""The Beam bloom stage, the contamination stage, and the bloom/contamination/decontaminate commands."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus_tools.bloom import open_bloom
from corpus_tools.contamination import build_bloom
from corpus_tools.ngrams import HASH_ID, NgramHasher
from corpus_tools.recipe import Recipe
from corpus_tools.rundir import RunDir
from corpus_tools.schema import DOC_SCHEMA, make_doc_id, new_document
from corpus_tools.shards import read_table, write_records
from pipelines.stage import StageContext, execute_stage
from pipelines.stages import load_stage
from pipelines.webtext import main as webtext

WORD = re.compile(r"[^\W_]+")


def grams(text, n):
    w = WORD.findall(text.lower())
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory):
    """RUN/dedup: real news articles with three WikiText-2 test paragraphs planted, plus one bad row."""
    root = tmp_path_factory.mktemp("run")
    news = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
    news = [l for l in news if l.strip()]
    wt_path = shared_data / "benchmarks" / "wikitext-2" / "test.txt"
    paragraphs = [l.strip() for l in wt_path.read_text(encoding="utf-8").splitlines() if len(l.split()) > 80][5:8]
    texts = list(news)
    for i, p in enumerate(paragraphs):
        texts[10 * i] = texts[10 * i] + "\n\n" + p + "\n\n" + texts[10 * i + 1]
    docs = [new_document(id=make_doc_id(f"http://news/{i}", t), url=f"http://news/{i}", text=t)
            for i, t in enumerate(texts)]
    dedup = root / "dedup"
    write_records(sorted(docs[::2], key=lambda d: d["id"]), str(dedup / "part-00000-of-00003.parquet"))
    write_records(sorted(docs[1::2], key=lambda d: d["id"]), str(dedup / "part-00001-of-00003.parquet"))
    # a row without text (a schema where text may be null): must be dead-lettered, not lost
    loose = pa.schema([f.with_nullable(True) for f in DOC_SCHEMA])
    pq.write_table(pa.Table.from_pylist([new_document(id="ffffffff", url="http://bad", text=None)], schema=loose),
                   str(dedup / "part-00002-of-00003.parquet"))
    RunDir(root).mark_done("dedup")
    return {"root": root, "texts": texts, "paragraphs": paragraphs, "wikitext": str(wt_path)}


def test_bloom_stage_builds_the_same_filter_as_the_library(corpus):
    run = RunDir(corpus["root"])
    recipe = Recipe().replace({"bloom": {"partitions": 2, "self_check_queries": 20_000}})
    stats = execute_stage(load_stage("bloom"), StageContext(run, recipe), force=True)
    texts = corpus["texts"]
    positions = sum(max(0, len(WORD.findall(t.lower())) - 7) for t in texts)
    assert stats["records_in"] == len(texts) + 1
    assert stats["records_out"] == len(texts)
    assert stats["reasons"] == {"missing_text": 1}  # the shared check's reason (pipelines/document_input.py)
    rejected = read_table(str(corpus["root"] / "bloom" / "_rejected")).to_pylist()
    assert [(r["stage"], r["reason"], r["url"]) for r in rejected] == [("bloom", "missing_text", "http://bad")]
    d = stats["details"]
    assert d["capacity"] == positions and d["n_inserted"] == positions and d["partitions"] == 2
    assert d["self_check"]["queries"] == 20_000 and d["self_check"]["false_positives"] == 0
    # OR-merged partial filters from Beam == the filters built in one process on the same texts
    lib = build_bloom(lambda: texts, None, n=8, fpr=1e-8, capacity=positions, partitions=2)
    beam_bloom = open_bloom(str(corpus["root"] / "bloom"), expected_hash_id=HASH_ID)
    for i in range(2):
        part = beam_bloom.load_part(i)
        assert np.array_equal(part.bits, lib[i].bits)
        assert part.n_inserted == lib[i].n_inserted
        assert np.array_equal(part.hll.registers, lib[i].hll.registers)
    distinct = len(set().union(*(grams(t, 8) for t in texts)))
    assert abs(d["distinct_estimate"] - distinct) / distinct < 0.03


def test_contamination_stage(corpus):
    run = RunDir(corpus["root"])
    if not run.is_done("bloom"):
        execute_stage(load_stage("bloom"), StageContext(run, Recipe()))
    stage = load_stage("contamination")
    stats = execute_stage(stage, StageContext(run, Recipe()), force=True)
    assert stats["details"] == {"configured": False}
    recipe = Recipe().replace({"contamination": {"benchmarks": [f"wikitext2={corpus['wikitext']}"], "exact": True}})
    stats = execute_stage(stage, StageContext(run, recipe), force=True)
    report = json.loads((corpus["root"] / "contamination" / "report.json").read_text())
    b = report["benchmarks"][0]
    test_lines = [l for l in open(corpus["wikitext"], encoding="utf-8")]
    test_grams = set().union(*(grams(l, 8) for l in test_lines if not re.match(r"^\s*(=\s+)+.*?(\s+=)+\s*$", l)))
    corpus_grams = set().union(*(grams(t, 8) for t in corpus["texts"]))
    assert report["exact"] is True and report["n"] == 8 and report["fpr"] == 1e-8
    assert (b["ngrams"], b["ngrams_found"]) == (len(test_grams), len(test_grams & corpus_grams))
    assert b["dirty_examples"] >= len(corpus["paragraphs"])
    assert stats["records_in"] == b["examples"]
    assert (corpus["root"] / "contamination" / "examples-wikitext2.csv").exists()


def test_cli_build_report_and_errors(corpus, tmp_path, capsys):
    bloom_dir = tmp_path / "bloom"
    assert webtext(["bloom", "build", "--input", str(corpus["root"] / "dedup"), "--out", str(bloom_dir),
                    "--self-check", "5000"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == len(corpus["texts"]) + 1 and out["rejected"] == {"missing_text": 1}
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), "--bench",
                    f"wikitext2={corpus['wikitext']}", "--out", str(tmp_path / "rep")]) == 0
    printed = capsys.readouterr().out
    assert "| wikitext2 |" in printed
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["exact"] is False and report["benchmarks"][0]["ngrams_found"] > 0

    # bad inputs: one line, non-zero exit
    assert webtext(["contamination", "report", "--bloom", str(tmp_path / "nope"), "--bench",
                    f"w={corpus['wikitext']}", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "no such Bloom filter" in err and len(err.strip().splitlines()) == 1
    part = next(bloom_dir.glob("part-*.bloom"))
    data = bytearray(part.read_bytes())
    data[100] ^= 1
    part.write_bytes(bytes(data))
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), "--bench",
                    f"w={corpus['wikitext']}", "--out", str(tmp_path / "x")]) == 2
    assert "checksum" in capsys.readouterr().err
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), "--bench", "missing-equals",
                    "--out", str(tmp_path / "x")]) == 2
    assert "NAME=PATH" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        webtext(["contamination", "report", "--help"])
    assert e.value.code == 0


def test_cli_exact_report_is_a_beam_pass_with_no_false_positives(corpus, tmp_path, capsys):
    # A loose filter (FPR 0.05) claims n-grams that are not in the corpus; --exact must count
    # exactly the brute-force overlap, in one process or two, and leave nothing but the report.
    bloom_dir = tmp_path / "loose"
    assert webtext(["bloom", "build", "--input", str(corpus["root"] / "dedup"), "--out", str(bloom_dir),
                    "--fpr", "0.05", "--self-check", "0"]) == 0
    bench = ["--bench", f"wikitext2={corpus['wikitext']}"]
    wt = [l for l in open(corpus["wikitext"], encoding="utf-8").read().splitlines()]
    test_grams = set().union(*(grams(t, 8) for t in wt))
    corpus_grams = set().union(*(grams(t, 8) for t in corpus["texts"]))
    found = {}
    for label, extra in (("bloom", []), ("exact", ["--exact", "--corpus", str(corpus["root"] / "dedup")]),
                         ("exact2", ["--exact", "--corpus", str(corpus["root"] / "dedup"), "--direct_num_workers=2",
                                     "--direct_running_mode=multi_processing"])):
        out = tmp_path / label
        assert webtext(["contamination", "report", "--bloom", str(bloom_dir), *bench, "--out", str(out), *extra]) == 0
        assert sorted(f.name for f in out.iterdir()) == ["examples-wikitext2.csv", "report.json", "report.md"]
        found[label] = json.loads((out / "report.json").read_text())["benchmarks"][0]
        found[label + "_csv"] = (out / "examples-wikitext2.csv").read_bytes()
    capsys.readouterr()
    assert found["exact"]["ngrams_found"] == len(test_grams & corpus_grams)
    reports = {k: json.loads((tmp_path / k / "report.json").read_text()) for k in ("bloom", "exact", "exact2")}
    # documents read by the exact pass (the row without text is not one: left out, and counted)
    assert reports["exact"]["exact_documents"] == reports["exact2"]["exact_documents"] == len(corpus["texts"])
    assert reports["exact"]["exact_records_rejected"] == reports["exact2"]["exact_records_rejected"] == {
        "missing_text": 1}
    assert "exact_documents" not in reports["bloom"]
    assert f"({len(corpus['texts']):,} documents read; left out as not documents: missing_text 1)" in \
        (tmp_path / "exact" / "report.md").read_text()
    assert found["bloom"]["ngrams_found"] > found["exact"]["ngrams_found"]  # the loose filter's false positives
    assert found["exact2"] == found["exact"] and found["exact2_csv"] == found["exact_csv"]
    # a corpus with no text (another table given by mistake) would make every hit a false positive:
    # refused, not reported as 0% contamination
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = tmp_path / "not_docs"
    other.mkdir()
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), str(other / "part-00000-of-00001.parquet"))
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), *bench, "--out", str(tmp_path / "y"),
                    "--exact", "--corpus", str(other)]) == 2
    assert "part-00000-of-00001.parquet is not a document file: no 'id' and no 'text'" in capsys.readouterr().err
    assert not (tmp_path / "y" / "report.json").exists()
    # ... and so is a document table with no document in it (every record lacks its text)
    nulls = tmp_path / "null_texts"
    nulls.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "text": pa.array([None, None], pa.string())}),
                   str(nulls / "part-00000-of-00001.parquet"))
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), *bench, "--out", str(tmp_path / "y"),
                    "--exact", "--corpus", str(nulls)]) == 2
    assert "--corpus: no document with a text in 1 file(s)" in capsys.readouterr().err
    assert not (tmp_path / "y" / "report.json").exists()
    # Beam options mean nothing without the corpus pass: refused, not ignored
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), *bench, "--out", str(tmp_path / "x"),
                    "--runner=DataflowRunner"]) == 2
    assert "only apply with --exact" in capsys.readouterr().err


def test_cli_decontaminate(corpus, tmp_path, capsys):
    out = tmp_path / "clean"
    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(corpus["paragraphs"]) + "\n", encoding="utf-8")
    assert webtext(["decontaminate", "--input", str(corpus["root"] / "dedup" / "part-0000[01]*.parquet"),
                    "--bench", f"planted={bench}", "--out", str(out), "--num-shards", "2"]) == 0
    stats = json.loads((out / "_decontamination.json").read_text())
    table = read_table(str(out))
    assert stats["documents_split"] == len(corpus["paragraphs"])
    assert stats["documents_out"] == table.num_rows
    leaked = set().union(*(grams(p, 13) for p in corpus["paragraphs"]))
    for text in table.column("text").to_pylist():
        assert not (grams(text, 13) & leaked)
    untouched = set(corpus["texts"]) - {t for t in corpus["texts"] if grams(t, 13) & leaked}
    assert untouched <= set(table.column("text").to_pylist())


def test_cli_decontaminate_into_a_used_folder_never_doubles_the_corpus(corpus, tmp_path, capsys):
    """Readers of DOCS_OUT read every *.parquet in it: an earlier run's extra shards there, or the
    --input corpus itself (--out = its folder), were read with the new shards, documents twice."""
    import shutil

    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(corpus["paragraphs"]) + "\n", encoding="utf-8")
    inputs = str(corpus["root"] / "dedup" / "part-0000[01]*.parquet")
    out = tmp_path / "clean"
    args = ["decontaminate", "--input", inputs, "--bench", f"planted={bench}", "--out", str(out)]
    assert webtext(args + ["--num-shards", "2"]) == 0
    once = read_table(str(out)).num_rows
    (out / "_rejected" / "part-00000-of-00007.parquet").write_bytes(b"stale")  # an earlier run's dead letters go too
    assert webtext(args + ["--num-shards", "4"]) == 0  # rerun into it with more shards
    assert sorted(p.name for p in out.iterdir()) == ["_decontamination.json", "_rejected"] + [
        f"part-{i:05d}-of-00004.parquet" for i in range(4)]
    assert [p.name for p in (out / "_rejected").iterdir()] == ["part-00000-of-00001.parquet"]  # this run's
    assert read_table(str(out)).num_rows == once
    assert webtext(args + ["--num-shards", "1"]) == 0
    assert read_table(str(out)).num_rows == once and len(list(out.glob("*.parquet"))) == 1
    capsys.readouterr()
    # --out the folder of the corpus: refused before anything is written
    corpus_copy = tmp_path / "docs"
    shutil.copytree(corpus["root"] / "dedup", corpus_copy)
    before = sorted(p.name for p in corpus_copy.iterdir())
    assert webtext(["decontaminate", "--input", str(corpus_copy), "--bench", f"planted={bench}",
                    "--out", str(corpus_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"webtext decontaminate: error: --out {corpus_copy} holds the --input file ") \
        and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in corpus_copy.iterdir()) == before
    # a folder holding files of its own is not emptied: refused
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.parquet").write_bytes(b"mine")
    assert webtext(args[:-1] + [str(other)]) == 2
    assert "holds files that webtext decontaminate did not write (e.g. notes.parquet)" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["notes.parquet"]


def test_same_bytes_with_two_worker_processes(corpus, tmp_path, capsys):
    docs = str(corpus["root"] / "dedup")
    assert webtext(["bloom", "build", "--input", docs, "--out", str(tmp_path / "one"), "--partitions", "3",
                    "--self-check", "0"]) == 0
    assert webtext(["bloom", "build", "--input", docs, "--out", str(tmp_path / "two"), "--partitions", "3",
                    "--self-check", "0", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]) == 0
    for name in ["bloom.json"] + [f"part-{i:05d}-of-00003.bloom" for i in range(3)]:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_bloom_stage_with_given_capacity_skips_the_count_pass(corpus):
    from corpus_tools.bloom import bloom_size

    run = RunDir(corpus["root"])
    recipe = Recipe().replace({"bloom": {"capacity": 100_000, "self_check_queries": 0}})
    stats = execute_stage(load_stage("bloom"), StageContext(run, recipe), force=True)
    assert "ngram_positions" not in stats["counters"]
    assert stats["details"]["capacity"] == 100_000
    assert stats["details"]["bits"] == bloom_size(100_000, 1e-8)[0]
    assert "self_check" not in stats["details"]
    h1, h2, _ = NgramHasher().hash_texts(corpus["texts"], 8)
    assert open_bloom(str(corpus["root"] / "bloom")).contains_hashes(h1, h2).all()


def test_cli_decontaminate_is_a_beam_pipeline_equal_to_the_in_process_passes(corpus, tmp_path, capsys):
    # Two worker processes give the same bytes as one, and both equal corpus_tools' in-process
    # decontaminate() on the same documents (records and counts).
    from corpus_tools.contamination import DecontaminationConfig, decontaminate, read_benchmark
    from corpus_tools.shards import expand_paths, iter_records

    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(corpus["paragraphs"]) + "\n", encoding="utf-8")
    inputs = str(corpus["root"] / "dedup" / "part-0000[01]*.parquet")
    args = ["decontaminate", "--input", inputs, "--bench", f"planted={bench}", "--num-shards", "2", "--out"]
    assert webtext(args + [str(tmp_path / "a")]) == 0
    assert webtext(args + [str(tmp_path / "b"), "--direct_num_workers=2", "--direct_running_mode=multi_processing"]) == 0
    for name in ("part-00000-of-00002.parquet", "part-00001-of-00002.parquet", "_decontamination.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    files = expand_paths(inputs)
    docs, counts = decontaminate(lambda: iter_records(files), [read_benchmark(f"planted={bench}")],
                                 DecontaminationConfig())
    expected = sorted(docs, key=lambda d: d["id"])
    assert sorted(read_table(str(tmp_path / "a")).to_pylist(), key=lambda d: d["id"]) == expected
    import pandas as pd

    assert len(pd.read_parquet(str(tmp_path / "a"))) == len(expected)  # the counts file is skipped
    assert json.loads((tmp_path / "a" / "_decontamination.json").read_text()) == counts
    assert counts["documents_split"] > 0 and counts["ngrams_used"] > 0


def test_cli_decontaminate_dead_letters_rows_without_text(corpus, tmp_path, capsys):
    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(corpus["paragraphs"]) + "\n", encoding="utf-8")
    assert webtext(["decontaminate", "--input", str(corpus["root"] / "dedup"), "--bench", f"planted={bench}",
                    "--out", str(tmp_path / "o")]) == 0
    stats = json.loads((tmp_path / "o" / "_decontamination.json").read_text())
    assert stats["documents_in"] == len(corpus["texts"]) + 1
    assert stats["documents_rejected"] == 1 and stats["rejected"] == {"missing_text": 1}
    assert read_table(str(tmp_path / "o")).num_rows == stats["documents_out"]
    rejected = read_table(str(tmp_path / "o" / "_rejected")).to_pylist()
    assert [(r["stage"], r["reason"], r["url"]) for r in rejected] == [("decontaminate", "missing_text", "http://bad")]


# ---------------------------------------------------------------- filters built with another n-gram hash
V1_HASH_ID = "webtext-ngram-v1:lower-alnum-words/xxh3_128/poly64x2-fmix64"  # before CJK characters were words


def _as_v1(bloom_dir):
    """Rewrite a filter folder's recorded hash id (manifest and every partition) to v1's, as a
    filter built by the webtext before n-grams changed for CJK text records it."""
    from corpus_tools.bloom import BloomFilter

    for part in bloom_dir.glob("part-*.bloom"):
        f = BloomFilter.load(str(part))
        f.hash_id = V1_HASH_ID
        f.save(str(part))
    manifest = json.loads((bloom_dir / "bloom.json").read_text())
    manifest["hash_id"] = V1_HASH_ID
    for p in manifest["parts"]:
        p["hash_id"] = V1_HASH_ID
    (bloom_dir / "bloom.json").write_text(json.dumps(manifest))


def test_a_filter_of_another_n_gram_hash_is_refused_naming_the_command_that_rebuilds_it(corpus, tmp_path, capsys):
    from corpus_tools.bloom import BloomHashError
    from corpus_tools.contamination import compute_report, read_benchmark

    docs, bloom_dir = str(corpus["root"] / "dedup"), tmp_path / "bloom"
    assert webtext(["bloom", "build", "--input", docs, "--out", str(bloom_dir), "--partitions", "2",
                    "--self-check", "0"]) == 0
    _as_v1(bloom_dir)
    capsys.readouterr()
    rebuild = f"`webtext bloom build --input DOCS --out {bloom_dir}`"
    for args in (["contamination", "report", "--bloom", str(bloom_dir), "--bench", f"w={corpus['wikitext']}",
                  "--out", str(tmp_path / "rep")],
                 ["bloom", "check", "--bloom", str(bloom_dir), "--queries", "100"]):
        assert webtext(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert V1_HASH_ID in err and HASH_ID in err and "older webtext" in err and err.endswith(rebuild)
    assert not (tmp_path / "rep").exists()
    with pytest.raises(BloomHashError, match="rebuild it with"):
        compute_report(str(bloom_dir), [read_benchmark(f"w={corpus['wikitext']}")])
    # the command it names rebuilds the filter in place, and the report runs
    assert webtext(["bloom", "build", "--input", docs, "--out", str(bloom_dir), "--partitions", "2",
                    "--self-check", "0"]) == 0
    assert webtext(["contamination", "report", "--bloom", str(bloom_dir), "--bench", f"w={corpus['wikitext']}",
                    "--out", str(tmp_path / "rep")]) == 0
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["hash_id"] == HASH_ID


def test_a_rebuild_into_a_used_folder_keeps_no_partition_of_the_earlier_filter(corpus, tmp_path, capsys):
    """A partition the new corpus puts no n-gram in was taken from the earlier filter in --out: its
    n-grams (another corpus's, or hashed by an older webtext) were answered as present."""
    bloom_dir = tmp_path / "bloom"
    assert webtext(["bloom", "build", "--input", str(corpus["root"] / "dedup"), "--out", str(bloom_dir),
                    "--partitions", "4", "--self-check", "0"]) == 0
    _as_v1(bloom_dir)
    small = tmp_path / "small"
    write_records([new_document(id="a", url="http://a", text="one two three four five six seven eight nine")],
                  str(small / "part-00000-of-00001.parquet"))
    assert webtext(["bloom", "build", "--input", str(small), "--out", str(bloom_dir), "--partitions", "4",
                    "--capacity", "100000", "--self-check", "0"]) == 0  # sized for 1e-8 at the queries below
    capsys.readouterr()
    bloom = open_bloom(str(bloom_dir), expected_hash_id=HASH_ID)
    assert bloom.manifest["n_inserted"] == 2
    h1, h2 = NgramHasher().hash_text("one two three four five six seven eight nine", 8)
    assert bloom.contains_hashes(h1, h2).all()
    h1, h2, _ = NgramHasher().hash_texts(corpus["texts"], 8)
    assert not bloom.contains_hashes(h1, h2).any()
    for i in range(4):
        assert bloom.load_part(i).hash_id == HASH_ID


def test_a_run_whose_bloom_has_another_n_gram_hash_is_refused_then_rebuilt(corpus, tmp_path, capsys):
    import shutil

    root = tmp_path / "run"
    shutil.copytree(corpus["root"] / "dedup", root / "dedup")
    RunDir(root).mark_done("dedup")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'[bloom]\nself_check_queries = 1000\n\n[contamination]\nbenchmarks = ["w={corpus["wikitext"]}"]\n',
                      encoding="utf-8")
    assert webtext(["run", "--out", str(root), "--recipe", str(recipe), "--stages", "bloom"]) == 0
    _as_v1(root / "bloom")
    capsys.readouterr()
    # the finished bloom stage is skipped; the contamination stage refuses its filter
    assert webtext(["run", "--out", str(root), "--stages", "bloom,contamination"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")]  # less the log
    redo = f"webtext run --out {root} --stages bloom,contamination --force bloom"
    assert len(err) == 1 and V1_HASH_ID in err[0] and err[0].endswith(f"`{redo}`")
    assert not RunDir(root).is_done("contamination")
    assert webtext(redo.split()[1:]) == 0
    capsys.readouterr()
    assert json.loads((root / "bloom" / "bloom.json").read_text())["hash_id"] == HASH_ID
    report = json.loads((root / "contamination" / "report.json").read_text())
    assert report["hash_id"] == HASH_ID and report["benchmarks"][0]["ngrams_found"] > 0
