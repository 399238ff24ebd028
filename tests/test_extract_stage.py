"""The first vertical slice: `webtext run`/`webtext extract` over real WARC/WET files with Beam."""

import glob
import hashlib
import json
import os
import random

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.webtext import main



def run_cli(*args):
    return main([str(a) for a in args])


def shard_files(folder):
    return sorted(glob.glob(os.path.join(folder, "*.parquet")))


def read_docs(folder):
    return pd.concat([pd.read_parquet(f) for f in shard_files(folder)], ignore_index=True)


def digests(folder):
    return {os.path.basename(f): hashlib.sha256(open(f, "rb").read()).hexdigest() for f in shard_files(folder)}


@pytest.fixture(scope="module")
def cc_run(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cc") / "run"
    assert run_cli("run", "--input", shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", "--out", out,
                   "--stages", "extract") == 0
    return out


def test_cc_excerpt_documents_and_stats(cc_run):
    docs = read_docs(cc_run / "docs")
    assert len(docs) == 16 and docs["id"].is_unique
    ru = docs[docs.url == "http://01spb.ru/company/"].iloc[0]
    # checked by hand in the page: the company describes its fire-safety services; page is windows-1251
    assert "узкоспециализированное предприятие" in ru.text and ru.charset == "cp1251"
    nl = docs[docs.url == "http://0900-hovenier.nl/gelderland/oosterbeek/"].iloc[0]
    assert "Een hovenier kan de werkzaamheden voor u uitvoeren" in nl.text
    assert set(docs.extractor) == {"trafilatura"} and set(docs.source) == {"warc"}
    stats = json.loads((cc_run / "stats" / "extract.json").read_text())
    assert stats["records_in"] == 16 and stats["records_out"] == 16 and stats["reasons"] == {}
    assert stats["counters"]["skipped_request"] == 17
    assert stats["parameters"]["extract"]["favor"] == "balanced"
    assert stats["versions"]["apache-beam"] == "2.77.0"
    assert (cc_run / "docs" / "_SUCCESS").exists()
    assert "[extract]" in (cc_run / "recipe.toml").read_text()


def test_pandas_and_duckdb_read_the_shards(cc_run):
    pattern = str(cc_run / "docs" / "*.parquet")
    n = duckdb.sql(f"select count(*) from read_parquet('{pattern}')").fetchall()[0][0]
    assert n == 16
    assert pq.read_schema(shard_files(cc_run / "docs")[0]).names[:4] == ["id", "url", "domain", "text"]
    rows = duckdb.sql(f"select url from read_parquet('{pattern}') where domain = '01spb.ru'").fetchall()
    assert rows == [("http://01spb.ru/company/",)]


def test_rows_sorted_and_sharded_by_id(cc_run):
    for f in shard_files(cc_run / "docs"):
        ids = pq.read_table(f, columns=["id"]).column("id").to_pylist()
        assert ids == sorted(ids)
        n = int(f.rsplit("-of-", 1)[1].split(".")[0])
        index = int(os.path.basename(f).split("-")[1])
        assert all(int(i[:8], 16) % n == index for i in ids)


def test_bad_files_dead_letter_and_run_finishes(shared_data, tmp_path):
    w = shared_data / "warc"
    out = tmp_path / "run"
    rc = run_cli("extract", "--out", out, "--input", w / "warcio-example-trunc.warc",
                 w / "warcio-example-bad-non-chunked.warc.gz", w / "cc-main-2024-22-whirlwind.warc.wet.gz")
    assert rc == 0
    rejected = pd.concat([pd.read_parquet(f) for f in shard_files(out / "docs" / "_rejected")])
    assert sorted(rejected.reason) == ["digest_mismatch"]
    assert all(rejected.detail.str.len() > 10)
    docs = read_docs(out / "docs")
    wet = docs[docs.source == "wet"].iloc[0]
    assert wet.url == "https://an.wikipedia.org/wiki/Escopete" and wet.extractor == "wet"
    stats = json.loads((out / "stats" / "extract.json").read_text())
    # nothing lost: every record in is a document out or a dead letter
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values()) == 3
    # a gzip stream that is not one member per record is a note about the file, not a record
    assert stats["counters"]["note.non_chunked_gzip"] == 1


def test_cut_and_not_warc_files_are_dead_letters(shared_data, tmp_path):
    """A .warc.gz cut short inside a record and files that are no WARC at all: one dead letter each."""
    data = (shared_data / "warc" / "cc-main-2024-22-whirlwind.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:1023 + 25])  # warcinfo, request, then 25 bytes of the response's gzip member
    noise = tmp_path / "noise.warc"
    noise.write_bytes(random.Random(7).randbytes(10000))
    text = tmp_path / "text.warc.gz"
    text.write_bytes((shared_data / "corpora" / "tinyshakespeare.txt").read_bytes()[:3000])
    out = tmp_path / "run"
    assert run_cli("extract", "--out", out, "--input", cut, noise, text) == 0
    rejected = pd.concat([pd.read_parquet(f) for f in shard_files(out / "docs" / "_rejected")])
    got = sorted(zip(rejected.source, rejected.offset, rejected.reason))
    assert got == sorted([(str(cut), 1023, "truncated_record"), (str(noise), 0, "not_warc"), (str(text), 0, "not_warc")])
    stats = json.loads((out / "stats" / "extract.json").read_text())
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values()) == 3
    assert stats["reasons"] == {"truncated_record": 1, "not_warc": 2}
    assert stats["counters"]["skipped_warcinfo"] == stats["counters"]["skipped_request"] == 1
    assert not any(k.startswith("skipped_") and k not in ("skipped_warcinfo", "skipped_request") for k in stats["counters"])


def test_empty_warc_files_are_one_dead_letter_each_and_the_stage_goes_on(shared_data, tmp_path):
    empty_gz, empty = tmp_path / "empty.warc.gz", tmp_path / "empty.warc"
    empty_gz.write_bytes(b"")
    empty.write_bytes(b"")
    out = tmp_path / "run"
    assert run_cli("extract", "--out", out, "--input", empty_gz, empty,
                   shared_data / "warc" / "cc-main-2024-22-whirlwind.warc.wet.gz") == 0
    rejected = pd.concat([pd.read_parquet(f) for f in shard_files(out / "docs" / "_rejected")])
    assert sorted(zip(rejected.source, rejected.offset, rejected.reason)) == [
        (str(empty), 0, "empty_file"), (str(empty_gz), 0, "empty_file")]
    assert list(read_docs(out / "docs").url) == ["https://an.wikipedia.org/wiki/Escopete"]
    stats = json.loads((out / "stats" / "extract.json").read_text())
    assert stats["reasons"] == {"empty_file": 2}
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values()) == 3


def test_skip_force_and_determinism(shared_data, tmp_path, capfd):
    src = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("extract", "--input", src, "--out", a) == 0
    first = digests(a / "docs")
    stats_mtime = (a / "stats" / "extract.json").stat().st_mtime_ns
    assert run_cli("extract", "--input", src, "--out", a) == 0  # finished: skipped
    assert (a / "stats" / "extract.json").stat().st_mtime_ns == stats_mtime
    assert run_cli("extract", "--input", src, "--out", a, "--force", "extract") == 0  # redone
    assert (a / "stats" / "extract.json").stat().st_mtime_ns != stats_mtime
    assert digests(a / "docs") == first
    # a second run directory, run with two worker processes, writes identical bytes
    capfd.readouterr()
    assert run_cli("extract", "--input", src, "--out", b, "--direct_num_workers=2",
                   "--direct_running_mode=multi_processing") == 0
    assert digests(b / "docs") == first and len(first) == 4
    # and the workers keep Beam's start-up and shut-down log to themselves (about 45 lines before:
    # "Creating insecure control channel", "No semi_persistent_directory found", ...)
    err = capfd.readouterr().err.splitlines()
    assert err and all(line.startswith("[extract]") for line in err), "\n".join(err)


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    rc = run_cli("extract", "--input", tmp_path / "nope-*.warc.gz", "--out", tmp_path / "run")
    assert rc == 2
    err = capsys.readouterr().err
    assert "input not found" in err and "nope-*.warc.gz" in err
    assert not (tmp_path / "run" / "docs").exists()


def test_stage_without_previous_output_says_so(tmp_path, capsys):
    assert run_cli("extract", "--out", tmp_path / "run") == 2
    assert "has not run" in capsys.readouterr().err


def test_bad_recipe_is_a_clear_error(tmp_path, capsys):
    recipe = tmp_path / "webtext.toml"
    recipe.write_text("[extract]\nfavor = 'fastest'\n")
    assert run_cli("extract", "--out", tmp_path / "run", "--recipe", recipe) == 2
    assert "[extract] favor = 'fastest'" in capsys.readouterr().err


def test_unknown_stage_in_stages(tmp_path, capsys):
    assert run_cli("run", "--out", tmp_path / "run", "--stages", "extract,bogus") == 2
    assert "unknown stage 'bogus'" in capsys.readouterr().err


def test_rerunning_a_stage_redoes_the_later_ones(shared_data, tmp_path):
    src = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    out = tmp_path / "run"
    assert run_cli("run", "--input", src, "--out", out, "--stages", "extract,datacard") == 0
    card = out / "stats" / "datacard.json"
    first = card.stat().st_mtime_ns
    assert run_cli("run", "--input", src, "--out", out, "--stages", "extract,datacard") == 0
    assert card.stat().st_mtime_ns == first  # nothing ran: nothing redone
    assert run_cli("run", "--input", src, "--out", out, "--stages", "extract,datacard", "--force", "extract") == 0
    assert card.stat().st_mtime_ns != first  # extract re-ran, so the card was redone


def test_a_run_whose_filters_remove_everything_still_finishes_with_a_card(shared_data, tmp_path):
    # The CC excerpt is Chinese, Russian, Dutch, German...: the default English-only filter keeps nothing.
    out = tmp_path / "run"
    assert run_cli("run", "--input", shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz", "--out", out) == 0
    filtered = json.loads((out / "stats" / "filter.json").read_text())
    assert filtered["records_in"] == 16 and filtered["records_out"] == 0
    # an empty result is an empty, readable dataset with the schema, not a missing folder
    (empty,) = shard_files(out / "dedup")
    table = pq.read_table(empty)
    assert table.num_rows == 0 and table.schema.names == pq.read_schema(shard_files(out / "docs")[0]).names
    assert json.loads((out / "stats" / "tokenize.json").read_text())["records_out"] == 0
    card = (out / "card" / "README.md").read_text()
    assert "| **deduplicated (final)** | 0 |" in card


def test_encoded_bodies_and_truncated_records_of_a_third_party_warc(shared_data, tmp_path):
    """A WARC that keeps bodies as the server sent them (wget, webrecorder): a brotli page is a document
    (it was dead-lettered: warcio's brotli reader fails on brotli 1.2), a gzip body cut in half a dead
    letter (it was half a page), and a page cut on purpose (WARC-Truncated: length) a document marked so:
    counter truncated.length and {"truncated": "length"} in its metadata."""
    import gzip
    import io

    import brotli
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = sorted((shared_data / "extraction" / "htmltotext" / "en" / "html").iterdir())[:3]
    html = [p.read_bytes() for p in pages]
    records = [  # (url, raw body, HTTP headers, WARC headers)
        ("http://example.org/br", brotli.compress(html[0]), [("Content-Encoding", "br")], {}),
        ("http://example.org/cut", gzip.compress(html[1])[: len(gzip.compress(html[1])) // 2],
         [("Content-Encoding", "gzip")], {}),
        ("http://example.org/capped", html[2][: len(html[2]) * 2 // 3], [], {"WARC-Truncated": "length"}),
    ]
    path = tmp_path / "wget.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, body, headers, warc_headers in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")] + headers, protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                http_headers=http, warc_headers_dict=warc_headers))
    out = tmp_path / "run"
    assert run_cli("extract", "--out", out, "--input", path) == 0
    docs = read_docs(out / "docs").set_index("url")
    assert sorted(docs.index) == ["http://example.org/br", "http://example.org/capped"]
    assert docs.loc["http://example.org/br", "metadata"] is None or \
        "truncated" not in json.loads(docs.loc["http://example.org/br", "metadata"])
    assert json.loads(docs.loc["http://example.org/capped", "metadata"])["truncated"] == "length"
    rejected = pd.concat([pd.read_parquet(f) for f in shard_files(out / "docs" / "_rejected")])
    assert list(zip(rejected.url, rejected.reason)) == [("http://example.org/cut", "bad_content_encoding")]
    assert "cut short" in rejected.detail.iloc[0]
    stats = json.loads((out / "stats" / "extract.json").read_text())
    assert stats["records_in"] == stats["records_out"] + sum(stats["reasons"].values()) == 3
    assert stats["counters"]["truncated.length"] == 1


def test_a_page_shorter_than_its_content_length_is_kept_marked_short_body(shared_data, tmp_path):
    """A page whose body ends before its Content-Length, in a record without WARC-Truncated, was extracted
    as a whole page. It is kept as a partial page: {"truncated": "short_body"} in its metadata and the
    counter truncated.short_body; the whole page beside it is not marked."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    html = sorted((shared_data / "extraction" / "htmltotext" / "en" / "html").iterdir())[0].read_bytes()
    path = tmp_path / "lost-connection.warc.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, body in (("http://example.org/short", html[: len(html) * 2 // 3]), ("http://example.org/whole", html)):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(html)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                http_headers=http))
    out = tmp_path / "run"
    assert run_cli("extract", "--out", out, "--input", path) == 0
    docs = read_docs(out / "docs").set_index("url")
    assert sorted(docs.index) == ["http://example.org/short", "http://example.org/whole"]
    assert json.loads(docs.loc["http://example.org/short", "metadata"])["truncated"] == "short_body"
    whole = docs.loc["http://example.org/whole", "metadata"]
    assert whole is None or "truncated" not in json.loads(whole)
    stats = json.loads((out / "stats" / "extract.json").read_text())
    assert stats["counters"]["truncated.short_body"] == 1
    assert not any(k.startswith("truncated.") and k != "truncated.short_body" for k in stats["counters"])
