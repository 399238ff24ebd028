"""The links Beam stage and `webtext links` end to end, on the real 2005 dumps."""

from __future__ import annotations

import glob
import json
import lzma
import os

import pyarrow.parquet as pq
import pytest
import zstandard

from corpus_tools.links import PostFilter, collect_links, url_shard
from corpus_tools.recipe import Recipe
from pipelines.webtext import main as webtext

DUMPS = ("RS_v2_2005-06.xz", "RS_v2_2005-07.xz")


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory):
    """The 06 dump as xz, the 07 dump recompressed to zstd, plus a small dump with bad lines."""
    d = tmp_path_factory.mktemp("dumps")
    raw = lzma.decompress((shared_data / "reddit" / DUMPS[1]).read_bytes())
    zst = d / "RS_v2_2005-07.zst"
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(raw))
    bad = d / "RS_bad.ndjson"
    bad.write_bytes(b'{"id": "g1", "url": "http://good.example.com/x", "is_self": false, "score": "4"}\n'
                    b"not json at all\n"
                    b'{"id": "g2", "is_self": false, "score": 9}\n')
    return [str(shared_data / "reddit" / DUMPS[0]), str(zst), str(bad)]


def run_links(out, inputs, *extra) -> int:
    return webtext(["links", "--input", *inputs, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def run_dir(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert run_links(out, inputs) == 0
    return out


def read_rows(folder) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "part-*.parquet"))):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_stage_output_matches_the_reference_driver(run_dir, inputs):
    reference = collect_links(inputs, PostFilter.from_config(Recipe().links))
    rows = read_rows(run_dir / "links")
    assert sorted(rows, key=lambda r: r["url"]) == reference.rows
    assert any(r["url"] == "http://good.example.com/x" for r in rows)
    urls = (run_dir / "links" / "_urls.txt").read_text().splitlines()
    assert urls == sorted(r["url"] for r in rows)
    assert (run_dir / "links" / "_SUCCESS").exists()
    # the folder reads as the links table alone: the URL list and marker are "_" files readers skip
    import pandas as pd

    assert len(pd.read_parquet(str(run_dir / "links"))) == len(rows)


def test_shards_are_sorted_and_keyed_by_url(run_dir):
    files = sorted(glob.glob(str(run_dir / "links" / "part-*.parquet")))
    assert [os.path.basename(f) for f in files] == [f"part-{i:05d}-of-00004.parquet" for i in range(4)]
    for i, f in enumerate(files):
        urls = pq.read_table(f, columns=["url"]).column("url").to_pylist()
        assert urls == sorted(urls)
        assert {url_shard(u, 4) for u in urls} == {i}


def test_stats_file(run_dir):
    stats = json.loads((run_dir / "stats" / "links.json").read_text())
    assert stats["stage"] == "links"
    assert stats["records_in"] == 103 + 1079 + 3  # README counts + the 3 lines of the bad dump
    d = stats["details"]
    assert stats["records_out"] == d["canonical_urls_kept"] == len(read_rows(run_dir / "links"))
    assert d["posts_read"] == stats["records_in"]
    assert d["dump_files"] == 3
    assert stats["reasons"]["bad_json"] == 1 and stats["reasons"]["no_url"] == 1
    assert stats["reasons"]["blocked_domain:wikipedia"] == 2 and stats["reasons"]["below_karma"] > 0
    assert d["canonical_urls_before_karma"] - d["canonical_urls_below_karma"] == d["canonical_urls_kept"]
    assert sum(stats["reasons"].values()) + d["posts_kept"] == d["posts_read"]
    assert d["top_domains"][0] == ["news.bbc.co.uk", 46]
    assert d["top_subreddits"][0][0] == "reddit.com"
    assert stats["parameters"]["links"]["min_karma"] == 3


def test_dead_letters_have_reason_and_line(run_dir, inputs):
    rejected = read_rows(run_dir / "links" / "_rejected")
    got = sorted((r["source"], r["offset"], r["reason"]) for r in rejected)
    assert got == [(inputs[2], 2, "bad_json"), (inputs[2], 3, "no_url")]


def test_same_input_same_bytes_in_any_order_and_batching(run_dir, inputs, tmp_path):
    recipe = tmp_path / "small-batches.toml"
    recipe.write_text("[links]\nbatch_posts = 7\n")
    again = tmp_path / "again"
    assert run_links(again, list(reversed(inputs)), "--recipe", str(recipe)) == 0
    for name in ["_urls.txt"] + [f"part-{i:05d}-of-00004.parquet" for i in range(4)]:
        assert (again / "links" / name).read_bytes() == (run_dir / "links" / name).read_bytes(), name


def test_recipe_switches_and_domain_files(inputs, shared_data, tmp_path):
    listed = tmp_path / "newsy.txt"
    listed.write_text("# big news sites\nnews.bbc.co.uk\ncnn.com\n")
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(f'[run]\nnum_shards = 1\n[links]\nmin_karma = 10\nblocked_domain_files = ["{listed}"]\n')
    out = tmp_path / "run"
    assert run_links(out, inputs[:2], "--recipe", str(recipe)) == 0
    stats = json.loads((out / "stats" / "links.json").read_text())
    hosts = []
    for name in DUMPS:
        with lzma.open(shared_data / "reddit" / name) as fh:
            hosts.extend(json.loads(line)["url"].split("/")[2].lower() for line in fh)
    hosts = [h[4:] if h.startswith("www.") else h for h in hosts]
    listed_posts = sum(1 for h in hosts if h in ("news.bbc.co.uk", "cnn.com") or h.endswith(".cnn.com"))
    assert stats["reasons"]["blocked_domain:newsy"] == listed_posts
    rows = read_rows(out / "links")
    assert rows and all(r["score_sum"] >= 10 for r in rows)
    assert not any(r["domain"] in ("news.bbc.co.uk", "cnn.com") or r["domain"].endswith(".cnn.com") for r in rows)
    assert [os.path.basename(f) for f in glob.glob(str(out / "links" / "part-*"))] == ["part-00000-of-00001.parquet"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert webtext(["links", "--out", str(tmp_path / "r")]) == 2
    assert "needs Reddit submission dumps" in capsys.readouterr().err
    assert webtext(["links", "--input", str(tmp_path / "missing.zst"), "--out", str(tmp_path / "r")]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_an_empty_dump_is_one_dead_letter_and_the_other_dumps_are_read(inputs, tmp_path):
    """A 0-byte dump (no zstd frame at all) is one `empty_file` dead letter, counted like the other
    whole-file reasons (truncated_stream ...) in files; the stage goes on with the other dumps.
    (A zstd stream that decompresses to nothing is a dump without posts: no dead letter.)"""
    empty = tmp_path / "RS_2005-08.zst"
    empty.write_bytes(b"")
    out = tmp_path / "run"
    assert run_links(out, [str(empty), inputs[0]]) == 0
    rejected = read_rows(out / "links" / "_rejected")
    assert [(r["source"], r["offset"], r["reason"], r["detail"]) for r in rejected] == [
        (str(empty), 1, "empty_file", f"{empty}: the file is empty (0 bytes)")]
    stats = json.loads((out / "stats" / "links.json").read_text())
    assert stats["reasons"]["empty_file"] == 1
    assert stats["records_in"] == 103 and stats["details"]["dump_files"] == 2
    rows = sorted(read_rows(out / "links"), key=lambda r: r["url"])
    assert rows == collect_links([inputs[0]], PostFilter.from_config(Recipe().links)).rows


def test_links_is_the_first_stage_of_webtext_run(inputs, tmp_path):
    out = tmp_path / "run"
    assert webtext(["run", "--input", *inputs[:2], "--out", str(out), "--stages", "links"]) == 0
    assert (out / "links" / "_SUCCESS").exists()
    assert json.loads((out / "stats" / "links.json").read_text())["records_in"] == 1182


@pytest.mark.parametrize("stages", [
    "links",  # the audit's case: the WARC became 159 bad_json dead letters
    "links,fetch,extract",
    "extract,filter",
    None,  # the whole pipeline
])
def test_run_refuses_mixed_inputs_whatever_the_stages(inputs, shared_data, tmp_path, capsys, stages):
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    out = tmp_path / "run"
    argv = ["run", "--out", str(out), "--input", inputs[0], warc] + (["--stages", stages] if stages else [])
    assert webtext(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("webtext run: error:"), err
    assert "mixes WARC/WET files and Reddit dumps" in err, err
    assert not out.exists()  # refused before any stage: no run folder, no dead letters


@pytest.mark.parametrize("stages", ["links", "links,fetch", "fetch,extract"])
def test_run_refuses_warc_inputs_for_a_run_that_starts_before_extract(shared_data, tmp_path, capsys, stages):
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    out = tmp_path / "run"
    assert webtext(["run", "--out", str(out), "--input", warc, "--stages", stages]) == 2
    err = capsys.readouterr().err.strip()
    first = stages.split(",")[0]
    assert len(err.splitlines()) == 1 and err.startswith("webtext run: error:"), err
    assert f"--stages starts at {first}" in err and "start at extract" in err, err
    assert not out.exists()


def test_http_and_https_spellings_of_a_page_are_one_link_in_any_shard(tmp_path):
    # Two posts of 2 karma each, one per scheme: one page with 4 karma (kept), under its https URL.
    # Each scheme alone would be below WebText's 3. An http-only page keeps its http URL.
    posts = [
        {"id": "a1", "url": "http://www.example.org/story?utm_source=x", "score": 2, "created_utc": 10},
        {"id": "a2", "url": "HTTPS://example.org/story/", "score": 2, "created_utc": 20},
        {"id": "b1", "url": "http://plain.example.net/page", "score": 3, "created_utc": 30},
        {"id": "c1", "url": "https://secure.example.com/x", "score": 1, "created_utc": 40},
        {"id": "c2", "url": "http://secure.example.com/x", "score": 1, "created_utc": 50},
    ]
    dump = tmp_path / "RS_schemes.ndjson"
    dump.write_text("".join(json.dumps({**p, "is_self": False, "subreddit": "s"}) + "\n" for p in posts))
    recipe = tmp_path / "webtext.toml"
    recipe.write_text("[run]\nnum_shards = 4\n")
    out = tmp_path / "run"
    assert run_links(out, [str(dump)], "--recipe", str(recipe)) == 0
    rows = {r["url"]: r for r in read_rows(out / "links")}
    assert set(rows) == {"https://example.org/story", "http://plain.example.net/page"}
    story = rows["https://example.org/story"]
    assert (story["score_sum"], story["n_posts"], story["post_ids"]) == (4, 2, ["a1", "a2"])
    assert story["example_url"] == "http://www.example.org/story?utm_source=x"  # the earliest post's spelling
    assert url_shard("http://example.org/story", 4) == url_shard("https://example.org/story", 4)
    stats = json.loads((out / "stats" / "links.json").read_text())
    assert stats["details"]["canonical_urls_before_karma"] == 3  # story, plain, secure (2 karma: dropped)
    assert stats["reasons"]["below_karma"] == 2


def test_overlapping_dumps_count_each_submission_once(inputs, shared_data, tmp_path):
    """The same month read twice (as .xz and as .zst, as Pushshift's overlapping releases are):
    each post's karma was summed twice, and 84 URLs below WebText's 3 karma were kept. Now the
    links are those of the month read once, and the copies are counted as `repeated_post`."""
    month = [str(shared_data / "reddit" / DUMPS[1]), inputs[1]]  # the same month, xz and zstd
    assert run_links(tmp_path / "once", month[:1]) == 0
    assert run_links(tmp_path / "twice", month) == 0
    once, twice = read_rows(tmp_path / "once" / "links"), read_rows(tmp_path / "twice" / "links")
    assert twice == once and len(once) > 700
    stats = [json.loads((tmp_path / r / "stats" / "links.json").read_text()) for r in ("once", "twice")]
    assert "repeated_post" not in stats[0]["reasons"]
    kept_once = stats[0]["counters"]["posts_kept"]
    assert stats[1]["counters"]["posts_kept"] == 2 * kept_once
    assert stats[1]["reasons"]["repeated_post"] == kept_once  # every copy accounted for


def test_a_repeated_submission_keeps_its_highest_scoring_copy_in_any_order(tmp_path):
    lines = [{"id": "p1", "url": "http://a.example.com/x", "score": 2, "created_utc": 10},  # a first crawl
             {"id": "p1", "url": "http://a.example.com/x", "score": 5, "created_utc": 10},  # a later one
             {"id": "p2", "url": "http://b.example.com/y", "score": 2, "created_utc": 20},
             {"id": "p2", "url": "http://b.example.com/y", "score": 2, "created_utc": 20}]  # a repeated line
    rows = []
    for name, order in (("forward", lines), ("backward", lines[::-1])):
        dump = tmp_path / f"RS_{name}.ndjson"
        dump.write_text("".join(json.dumps({**p, "is_self": False, "subreddit": "s"}) + "\n" for p in order))
        assert run_links(tmp_path / name, [str(dump)]) == 0
        rows.append(read_rows(tmp_path / name / "links"))
    assert rows[0] == rows[1]
    assert [(r["url"], r["score_sum"], r["n_posts"], r["post_ids"]) for r in rows[0]] == [
        ("http://a.example.com/x", 5, 1, ["p1"])]  # b: 2 karma once, not 4 twice
