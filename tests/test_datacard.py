"""The data card: numbers equal the run's stats and Parquet outputs, YAML parses as an HF
dataset card, figures are real PNGs, missing stages say "not run", the HTML render has no
broken images. The run directory is written by hand here (real Parquet, real JSON)."""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import struct
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from huggingface_hub import DatasetCard, DatasetCardData

from corpus_tools.corpus_profile import parse_time
from corpus_tools.datacard import gather, render_card, write_datacard
from corpus_tools.recipe import Recipe
from corpus_tools.rundir import RunDir
from corpus_tools.schema import CLUSTER_SCHEMA, FETCH_LOG_SCHEMA, LINK_SCHEMA, make_doc_id, new_document
from corpus_tools.shards import write_records

# The Hub's dataset-card vocabulary (huggingface_hub.DatasetCardData docstring, hub-docs datasetcard.md).
SIZE_CATEGORIES = {"n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B",
                   "1B<n<10B", "10B<n<100B", "100B<n<1T", "n>1T", "other"}
ANNOTATIONS = {"found", "crowdsourced", "expert-generated", "machine-generated", "no-annotation", "other"}
LANG_CREATORS = {"found", "crowdsourced", "expert-generated", "machine-generated", "other"}
MULTILINGUALITY = {"monolingual", "multilingual", "translation", "other"}

WORDS = "the of and a to in is was that for on as with by he it at from his an were are which this be or".split()
DOMAINS = ["example.com", "news.org", "blog.net", "wiki.io", "shop.biz"]
STAGES = ("links", "fetch", "extract", "filter", "dedup", "bloom", "tokenize", "contamination")


def _docs(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        k = rng.choice([0, 1, 3, 7, 20, 55, 130, 400])
        seps = [" ", "\n", "  ", "\t", "\u00a0", "\u2003"]
        text = "".join(rng.choice(WORDS) + rng.choice(seps) for _ in range(k)) + ("é" * (i % 3))
        url = f"https://{DOMAINS[i % 5 if i % 4 else 0]}/p/{seed}/{i}"
        docs.append(new_document(id=make_doc_id(url, text), url=url, domain=url.split("/")[2], text=text,
                                 language=["en", "en", "de", None][i % 4]))
    return docs


def _stats(stage, records_in, records_out, reasons, details=None):
    return {"stage": stage, "records_in": records_in, "records_out": records_out, "reasons": reasons,
            "counters": {}, "details": details or {}, "parameters": {}, "inputs": [], "outputs": {},
            "started_at": "2026-11-22T10:00:00Z", "finished_at": "2026-11-22T10:00:05Z", "elapsed_s": 5.0,
            "versions": {"python": "3.11.7", "apache-beam": "2.77.0"}}


STATS = {
    "links": _stats("links", 1079, 412, {"karma": 520, "nsfw": 12, "duplicate_url": 135}),
    "fetch": _stats("fetch", 412, 371, {"robots": 9, "timeout": 20, "http_404": 12}),
    "extract": _stats("extract", 371, 330, {"empty": 29, "too_large": 12}),
    "filter": _stats("filter", 330, 205, {"language": 77, "gopher_quality": 48}),
    "dedup": _stats("dedup", 205, 61, {"near_duplicate": 130, "exact_duplicate": 14}),
    "bloom": _stats("bloom", 61, 61, {}),
    "tokenize": _stats("tokenize", 61, 61, {}, {"tokens": 987654}),
    "contamination": _stats("contamination", 2, 2, {}),
}
REPORT = {"n": 8, "fpr": 1e-8, "exact": False, "benchmarks": [
    {"name": "wikitext-2", "examples": 4358, "ngrams": 241211, "ngrams_found": 3212, "percent_found": 1.33,
     "dirty_n": 8, "dirty_examples": 17},
    {"name": "ptb", "examples": 3761, "ngrams": 70390, "ngrams_found": 12, "percent_found": 0.02,
     "dirty_n": 8, "dirty_examples": 0}]}


@pytest.fixture()
def run_dir(tmp_path) -> Path:
    root = tmp_path / "run"
    run = RunDir(root)
    recipe = Recipe().replace({"run": {"name": "tiny-webtext"}, "datacard": {"curated_by": "Test Lab", "top_k": 3}})
    run.write_text(run.recipe_path, recipe.to_toml())
    for stage, s in STATS.items():
        run.write_stats(stage, s)
        run.mark_done(stage)  # a finished stage: its stats and its _SUCCESS
    final = _docs(1, 61)
    write_records(final[:30], str(root / "dedup" / "part-00000-of-00002.parquet"))
    write_records(final[30:], str(root / "dedup" / "part-00001-of-00002.parquet"))
    write_records(_docs(2, 205), str(root / "filtered" / "part-00000-of-00001.parquet"))
    write_records(_docs(3, 5), str(root / "filtered" / "_removed" / "language" / "part-00000-of-00001.parquet"))
    links = [{"url": f"https://{DOMAINS[i % 3]}/{i}", "domain": DOMAINS[i % 3], "score_sum": 3 + i, "n_posts": 1 + i % 2,
              "subreddits": sorted({["science", "news", "worldnews"][i % 3], "news" if i % 5 == 0 else "science"}),
              "first_seen": 1117584000 + i, "last_seen": 1120000000 + i, "example_url": None, "post_ids": []}
             for i in range(40)]
    write_records(links, str(root / "links" / "part-00000-of-00001.parquet"), LINK_SCHEMA)
    fetch = [{"url": f"https://x/{i}", "reason": ["ok", "ok", "robots", "timeout", "ok"][i % 5],
              "status": [200, 200, None, None, 404][i % 5], "bytes": 1000 + i, "truncated": i % 7 == 0,
              "fetched_at": f"2026-11-22T10:{i:02d}:00Z"} for i in range(50)]
    write_records(fetch, str(root / "warc" / "fetch_log" / "part-00000-of-00001.parquet"), FETCH_LOG_SCHEMA)
    clusters = [{"cluster_id": f"c{i}", "kept_id": f"d{i}", "members": [f"d{i}"] * s, "size": s,
                 "kind": ["near", "exact"][i % 2], "similarity": [0.85, 1.0][i % 2]}
                for i, s in enumerate([2, 2, 3, 5, 9, 2, 17])]
    write_records(clusters, str(root / "dedup" / "_clusters" / "part-00000-of-00001.parquet"), CLUSTER_SCHEMA)
    (root / "contamination").mkdir(exist_ok=True)
    (root / "contamination" / "report.json").write_text(json.dumps(REPORT))
    return root


def _table_after(readme: str, heading: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table after ``heading``."""
    rest = readme.split(heading, 1)[1]
    lines = [ln for ln in rest.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split(" | ")])
    return rows


# --------------------------------------------------------------------------- numbers
def test_funnel_and_stage_numbers_equal_the_stats_files(run_dir):
    data = write_datacard(str(run_dir))
    on_disk = json.loads((run_dir / "card" / "datacard.json").read_text())
    assert on_disk["funnel"] == data["funnel"]
    counts = {(r["kind"], r["step"]): r["count"] for r in on_disk["funnel"]}
    assert counts[("start", "posts")] == 1079
    for stage, label in [("links", "links"), ("fetch", "fetched"), ("extract", "extracted"),
                         ("filter", "filtered"), ("dedup", "deduplicated (final)")]:
        assert counts[("stage", label)] == STATS[stage]["records_out"]
        for reason, n in STATS[stage]["reasons"].items():
            assert counts[("removed", f"{stage}: {reason}")] == n
    final = next(r for r in on_disk["funnel"] if r["step"] == "deduplicated (final)")
    assert final["pct_of_start"] == round(100 * 61 / 1079, 2)
    lang = next(r for r in on_disk["funnel"] if r["step"] == "filter: language")
    assert lang["pct_of_input"] == round(100 * 77 / 330, 2)

    readme = (run_dir / "card" / "README.md").read_text()
    funnel_rows = _table_after(readme, "##### Funnel")
    assert funnel_rows[0][:2] == ["**posts**", "1,079"]
    as_text = {r[0]: r[1] for r in funnel_rows}
    assert as_text["**fetched**"] == "371" and as_text["**extracted**"] == "330" and as_text["**deduplicated (final)**"] == "61"
    assert as_text["&nbsp;&nbsp;− links: karma"] == "520"
    assert funnel_rows[-1][2] == f"{100 * 61 / 1079:.2f}% of start"
    stage_rows = {r[0]: r for r in _table_after(readme, "##### Stages")}
    for stage, s in STATS.items():
        assert stage_rows[f"`{stage}`"][1:4] == ["ran", f"{s['records_in']:,}", f"{s['records_out']:,}"]
    assert on_disk["tokens"] == 987654 and "987,654" in readme


def test_corpus_measures_equal_the_final_parquet(run_dir):
    data = write_datacard(str(run_dir))
    docs = _docs(1, 61)
    words = [len(d["text"].split()) for d in docs]
    c = data["corpus"]
    assert c["source_stage"] == "dedup" and c["documents"] == 61
    assert c["words"] == sum(words)
    assert c["bytes"] == sum(len(d["text"].encode("utf-8")) for d in docs)
    assert c["chars"] == sum(len(d["text"]) for d in docs)
    assert c["length_words"]["min"] == min(words) and c["length_words"]["max"] == max(words)
    assert c["length_words"]["percentiles"]["p50"] == pytest.approx(statistics.median(words), abs=1e-3)
    q = statistics.quantiles(words, n=100, method="inclusive")
    assert c["length_words"]["percentiles"]["p95"] == pytest.approx(q[94], abs=1e-3)
    # histogram: power-of-two bins, every document in exactly one
    hist = c["length_words"]["histogram"]
    assert sum(b["count"] for b in hist) == 61
    for b in hist:
        assert b["count"] == sum(1 for w in words if b["lo"] <= w <= b["hi"])
    domains = Counter(d["domain"] for d in docs)
    expected_top = sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [tuple(x) for x in c["top_domains"]] == expected_top  # top_k = 3 from the recipe
    langs = Counter(d["language"] or "(unknown)" for d in docs)
    assert {lang: n for lang, n, _, _ in c["languages"]} == dict(langs)
    assert {lang: w for lang, _, w, _ in c["languages"]}["de"] == sum(
        len(d["text"].split()) for d in docs if d["language"] == "de")
    assert {lang: ch for lang, _, _, ch in c["languages"]} == {
        lang: sum(len(d["text"]) for d in docs if (d["language"] or "(unknown)") == lang) for lang in langs}

    readme = (run_dir / "card" / "README.md").read_text()
    measures = {r[0]: r[1] for r in _table_after(readme, "### Measured composition")}
    assert measures["documents"] == "61"
    assert measures["words (whitespace-separated)"] == f"{sum(words):,}"
    assert measures["tokens"] == "987,654"
    # per language: documents, share, words and characters (words undercount Chinese and Japanese)
    rows = {r[0]: r for r in _table_after(readme, "#### Languages")}
    de_chars = sum(len(d["text"]) for d in docs if d["language"] == "de")
    assert rows["de"][1] == f"{langs['de']:,}" and rows["de"][4] == f"{de_chars:,}"
    assert "| language | documents | share | words (whitespace-separated) | characters |" in readme


def test_links_fetch_clusters_and_contamination_are_measured(run_dir):
    data = write_datacard(str(run_dir))
    ln = data["links"]
    assert ln["links"] == 40 and ln["posts"] == sum(1 + i % 2 for i in range(40))
    subs = Counter()
    for i in range(40):
        for s in {["science", "news", "worldnews"][i % 3], "news" if i % 5 == 0 else "science"}:
            subs[s] += 1
    assert dict((k, v) for k, v in ln["top_subreddits"]) == dict(subs)
    assert ln["first_seen"] == 1117584000 and ln["last_seen"] == 1120000039
    f = data["fetch_log"]
    assert dict((k, v) for k, v in f["reasons"]) == {"ok": 30, "robots": 10, "timeout": 10}
    assert dict((k, v) for k, v in f["statuses"]) == {"200": 20, "(unknown)": 20, "404": 10}
    assert f["bytes"] == sum(1000 + i for i in range(50)) and f["truncated"] == len(range(0, 50, 7))
    cl = data["clusters"]
    sizes = [2, 2, 3, 5, 9, 2, 17]
    assert cl["clusters"] == 7 and cl["documents"] == sum(sizes) and cl["removed"] == sum(s - 1 for s in sizes)
    assert cl["max_size"] == 17
    assert cl["by_kind"]["near"]["clusters"] == 4 and cl["by_kind"]["near"]["removed"] == sum(s - 1 for s in sizes[::2])
    assert {(b["lo"], b["hi"]): b["count"] for b in cl["size_histogram"]} == {(2, 3): 4, (4, 7): 1, (8, 15): 1, (16, 31): 1}
    assert data["contamination"]["benchmarks"] == REPORT["benchmarks"]
    readme = (run_dir / "card" / "README.md").read_text()
    contam = {r[0]: r for r in _table_after(readme, "### Benchmark contamination")}
    assert contam["wikitext-2"][1:5] == ["4,358", "241,211", "3,212", "1.33%"]
    outcome = {r[0]: r[1] for r in _table_after(readme, "##### Fetch outcomes")}
    assert outcome == {"ok": "30", "robots": "10", "timeout": "10"}


def test_recipe_and_versions_are_reproduced(run_dir):
    write_datacard(str(run_dir))
    readme = (run_dir / "card" / "README.md").read_text()
    toml_block = readme.split("## Reproducibility", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    import tomllib

    recorded = tomllib.loads(toml_block)
    assert recorded == tomllib.loads((run_dir / "recipe.toml").read_text())
    assert recorded["run"]["name"] == "tiny-webtext"
    versions = {r[0]: r[1] for r in _table_after(readme, "## Reproducibility")}
    assert versions["apache-beam"] == "2.77.0" and versions["python"] == "3.11.7"


def test_the_recipe_in_reproducibility_publishes_paths_as_the_card_does(run_dir, tmp_path):
    """The recipe printed whole gave away /home/alice/...: every local path in it is shown as the card
    shows paths (relative to the run inside it, by its name alone elsewhere); URLs, relative paths and
    the rest of the recipe stay as recorded."""
    home = "/home/alice/dumps"
    recipe = Recipe().replace({
        "run": {"name": "tiny-webtext", "inputs": [f"{home}/RS_2019-01.zst", f"{home}/RS_2019-0[23].zst",
                                                   "gs://bucket/RS_2019-04.zst", "dumps/RS_2019-05.zst"]},
        "filter": {"quality_model": "/home/alice/models/quality.bin"},
        "contamination": {"benchmarks": [f"lambada={home}/../bench/lambada.jsonl:text",
                                         "wikitext=/srv/data/wikitext-2/test.txt",
                                         "gs_ptb=gs://bucket/ptb.txt"]},
        "tokenize": {"tokenizer": str(run_dir / "given-tokenizer")},
    })
    run = RunDir(run_dir)
    run.write_text(run.recipe_path, recipe.to_toml())
    write_datacard(str(run_dir), recipe=recipe)
    readme = (run_dir / "card" / "README.md").read_text()
    assert "/home/alice" not in readme and "/srv/data" not in readme and str(run_dir) not in readme
    repro = readme.split("## Reproducibility", 1)[1]
    assert "its paths are shown as everywhere in this card, inside the run directory relative to it and a " \
           "local file or folder elsewhere by its name alone:" in repro
    import tomllib

    shown = tomllib.loads(repro.split("```toml\n", 1)[1].split("```", 1)[0])
    shown_inputs = ["RS_2019-01.zst", "RS_2019-0[23].zst", "gs://bucket/RS_2019-04.zst", "dumps/RS_2019-05.zst"]
    assert shown["run"]["inputs"] == shown_inputs
    assert shown["filter"]["quality_model"] == "quality.bin"
    assert shown["contamination"]["benchmarks"] == ["lambada=lambada.jsonl:text", "wikitext=test.txt",
                                                    "gs_ptb=gs://bucket/ptb.txt"]
    assert shown["tokenize"]["tokenizer"] == "given-tokenizer"
    # the rest as recorded
    recorded = recipe.to_dict()
    for sec in ("run", "filter", "contamination", "tokenize"):
        for key in ("inputs", "quality_model", "benchmarks", "tokenizer"):
            recorded[sec].pop(key, None)
            shown[sec].pop(key, None)
    assert shown == {sec: {k: v for k, v in keys.items() if v is not None} for sec, keys in recorded.items()}
    # datacard.json, published beside the card, names them as the card does; the run keeps them as recorded
    published = (run_dir / "card" / "datacard.json").read_text()
    assert "/home/alice" not in published and "/srv/data" not in published and str(run_dir) not in published
    assert json.loads(published)["recipe"]["run"]["inputs"] == shown_inputs
    assert f'"{home}/RS_2019-01.zst"' in (run_dir / "recipe.toml").read_text()


# --------------------------------------------------------------------------- YAML header
def test_yaml_header_loads_and_validates_as_a_dataset_card(run_dir):
    write_datacard(str(run_dir))
    card = DatasetCard.load(run_dir / "card" / "README.md")
    assert isinstance(card.data, DatasetCardData)
    meta = card.data.to_dict()
    DatasetCardData(**meta)  # re-validates: every key a DatasetCardData accepts
    assert meta["pretty_name"] == "tiny-webtext"
    assert meta["license"] == "other"
    assert meta["size_categories"] == ["n<1K"]  # 61 documents
    assert set(meta["size_categories"]) <= SIZE_CATEGORIES
    assert set(meta["annotations_creators"]) <= ANNOTATIONS
    assert set(meta["language_creators"]) <= LANG_CREATORS
    assert set(meta["multilinguality"]) <= MULTILINGUALITY and meta["multilinguality"] == ["multilingual"]
    assert meta["language"] == ["en", "de"]  # the corpus' ISO codes, most documents first; "(unknown)" left out
    assert all(re.fullmatch(r"[a-z]{2,3}", lang) for lang in meta["language"])
    assert meta["task_categories"] == ["text-generation"] and meta["source_datasets"] == ["original"]
    assert isinstance(meta["tags"], list) and meta["tags"]
    for heading in ["## Dataset Details", "## Uses", "## Dataset Structure", "### Curation Rationale",
                    "### Source Data", "#### Data Collection and Processing", "#### Personal and Sensitive Information",
                    "## Bias, Risks, and Limitations", "## Citation", "### Motivation", "### Composition",
                    "### Collection Process", "### Preprocessing", "### Distribution", "### Maintenance"]:
        assert heading in card.text, heading
    assert "`text` | string | no" in card.text  # the schema is in Dataset Structure
    assert "Test Lab" in card.text and "[More Information Needed]" in card.text


# --------------------------------------------------------------------------- figures and HTML
def _png_ok(path: Path) -> tuple[int, int]:
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    assert raw[12:16] == b"IHDR" and struct.unpack(">I", raw[8:12])[0] == 13
    assert zlib.crc32(raw[12:29]) == struct.unpack(">I", raw[29:33])[0]
    assert raw[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return struct.unpack(">II", raw[16:24])


def test_figures_are_valid_nontrivial_pngs(run_dir):
    data = write_datacard(str(run_dir))
    assert set(data["figures"]) == {"funnel", "lengths", "domains", "languages", "contamination"}
    for rel in data["figures"].values():
        path = run_dir / "card" / rel
        width, height = _png_ok(path)
        assert width >= 300 and height >= 150
        assert path.stat().st_size > 5000  # a drawn chart, not an empty canvas


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.links = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src"))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def test_html_render_has_no_broken_image_links(run_dir):
    data = write_datacard(str(run_dir))
    card = DatasetCard.load(run_dir / "card" / "README.md")
    html = markdown.markdown(card.text, extensions=["tables", "fenced_code"])
    refs = _Refs()
    refs.feed(html)
    assert sorted(refs.imgs) == sorted(data["figures"].values())  # every figure shown, nothing else
    for src in refs.imgs:
        assert not re.match(r"^[a-z]+://", src) and (run_dir / "card" / src).is_file(), src
    for href in refs.links:
        if not re.match(r"^[a-z]+:", href) and not href.startswith("#"):
            assert (run_dir / "card" / href).exists(), href
    assert "<table>" in html


# --------------------------------------------------------------------------- missing stages
def test_missing_stages_are_reported_not_run(run_dir):
    for stage in ("links", "fetch", "tokenize", "contamination", "bloom"):
        (run_dir / "stats" / f"{stage}.json").unlink()
    shutil.rmtree(run_dir / "links")
    shutil.rmtree(run_dir / "warc")
    shutil.rmtree(run_dir / "contamination")
    shutil.rmtree(run_dir / "dedup")  # also the final corpus: fall back to filtered/
    data = write_datacard(str(run_dir))
    for stage in ("links", "fetch", "tokenize", "contamination", "bloom"):
        assert data["stages"][stage]["status"] == "not run"
    assert data["links"]["status"] == "not run" and data["contamination"]["status"] == "not run"
    assert data["corpus"]["source_stage"] == "filter" and data["corpus"]["documents"] == 205
    assert data["tokens"] is None
    rows = {r["step"]: r for r in data["funnel"]}
    assert rows["links"]["status"] == "not run" and rows["fetched"]["status"] == "not run"
    start = next(r for r in data["funnel"] if r["kind"] == "start")
    assert start["stage"] == "extract" and start["count"] == 371
    readme = (run_dir / "card" / "README.md").read_text()
    stage_rows = {r[0]: r for r in _table_after(readme, "##### Stages")}
    assert stage_rows["`links`"][1] == "not run" and stage_rows["`tokenize`"][1] == "not run"
    assert "Benchmark contamination: not run" in readme
    assert "contamination" not in data["figures"]
    assert "not tokenized" in readme
    DatasetCard.load(run_dir / "card" / "README.md")


def test_empty_run_directory_gives_a_card_not_a_crash(tmp_path):
    data = write_datacard(str(tmp_path / "empty"))
    assert all(s["status"] == "not run" for s in data["stages"].values())
    assert data["corpus"] == {"status": "not run"} and data["figures"] == {}
    card = DatasetCard.load(tmp_path / "empty" / "card" / "README.md")
    assert card.data.to_dict()["size_categories"] == ["other"]
    assert data["recipe_source"].startswith("webtext's defaults")


def test_unreadable_stats_are_reported_not_fatal(run_dir):
    (run_dir / "stats" / "filter.json").write_text("{not json")
    data = write_datacard(str(run_dir))
    assert data["stages"]["filter"]["status"] == "unreadable"
    assert "filtered" in {r["step"] for r in data["funnel"] if r["status"] == "unreadable"}
    assert "unreadable" in (run_dir / "card" / "README.md").read_text()



def test_stats_with_a_reason_that_is_not_a_count_are_unreadable_not_fatal(run_dir):
    path = run_dir / "stats" / "filter.json"
    stats = json.loads(path.read_text())
    stats["reasons"]["language"] = "x"
    path.write_text(json.dumps(stats))
    data = write_datacard(str(run_dir))
    assert data["stages"]["filter"] == {"status": "unreadable", "error": "reasons language: not a count"}
    assert "filtered" in {r["step"] for r in data["funnel"] if r["status"] == "unreadable"}


# --------------------------------------------------------------------------- determinism
def test_same_run_gives_same_bytes(run_dir, tmp_path):
    write_datacard(str(run_dir))
    first = {p.relative_to(run_dir / "card"): p.read_bytes() for p in (run_dir / "card").rglob("*") if p.is_file()}
    write_datacard(str(run_dir), out_dir=str(tmp_path / "again"))
    second = {p.relative_to(tmp_path / "again"): p.read_bytes() for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert first.keys() == second.keys() and first == second


def test_render_card_uses_only_given_figures(run_dir):
    data = gather(str(run_dir))
    text = render_card(data, {"funnel": "figures/funnel.png"})
    assert text.count("](figures/") == 1 and "](figures/funnel.png)" in text


# --------------------------------------------------------------------------- stage and CLI
def test_webtext_datacard_command_writes_card_and_stats(run_dir):
    from pipelines.webtext import main

    assert main(["datacard", str(run_dir)]) == 0
    card = DatasetCard.load(run_dir / "card" / "README.md")
    assert card.data.to_dict()["pretty_name"] == "tiny-webtext"
    assert (run_dir / "card" / "_SUCCESS").exists()
    stats = json.loads((run_dir / "stats" / "datacard.json").read_text())
    assert stats["records_in"] == len(STAGES) and stats["records_out"] == len(STAGES) and stats["reasons"] == {}
    assert stats["details"]["documents"] == 61 and stats["details"]["corpus_source"] == "dedup"
    # a second call regenerates (the card reflects stages rerun since), it does not skip
    (run_dir / "stats" / "bloom.json").unlink()
    assert main(["datacard", str(run_dir)]) == 0
    stats = json.loads((run_dir / "stats" / "datacard.json").read_text())
    assert stats["records_out"] == len(STAGES) - 1 and stats["reasons"] == {"not_run": 1}
    assert json.loads((run_dir / "card" / "datacard.json").read_text())["stages"]["bloom"]["status"] == "not run"


def test_datacard_is_the_last_stage_of_webtext_run(run_dir):
    from pipelines.webtext import main

    assert main(["run", "--out", str(run_dir), "--stages", "datacard"]) == 0
    data = json.loads((run_dir / "card" / "datacard.json").read_text())
    assert data["funnel"][-1]["count"] == 61 and data["recipe"]["run"]["name"] == "tiny-webtext"


def test_datacard_command_fails_in_one_line_without_a_run(tmp_path, capsys):
    from pipelines.webtext import main

    assert main(["datacard", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no run directory" in err
    assert not (tmp_path / "missing").exists()


def test_build_only_context_writes_nothing(run_dir):
    from pipelines.stage import StageContext
    from pipelines.stages import load_stage

    ctx = StageContext(RunDir(run_dir), Recipe(), build_only=True)
    result = load_stage("datacard").run(ctx)
    assert result.records_out == 0 and not (run_dir / "card").exists()


def test_sampling_answer_names_the_pareto_rule_when_the_classifier_ran(run_dir):
    write_datacard(str(run_dir))
    readme = (run_dir / "card" / "README.md").read_text()
    assert "no random sampling" in readme and "pareto" not in readme.lower()
    run = RunDir(run_dir)
    recipe = Recipe().replace({"run": {"name": "tiny-webtext", "seed": 99},
                               "filter": {"quality_model": "/models/quality.bin"}})
    run.write_text(run.recipe_path, recipe.to_toml())
    write_datacard(str(run_dir))
    readme = (run_dir / "card" / "README.md").read_text()
    assert "no random sampling" not in readme
    assert "pareto(α=9.0) > 1 − score" in readme and "run seed 99" in readme


# --------------------------------------------------------------------------- wording follows what ran
def _section(readme: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading."""
    return re.split(r"\n#{1,6} ", readme.split(heading + "\n", 1)[1], maxsplit=1)[0]


def _answer(readme: str, question: str) -> str:
    return next(ln for ln in readme.splitlines() if ln.startswith(f"- **{question}**")).split("** ", 1)[1]


def _step(readme: str, stage: str) -> str:
    return next(ln for ln in readme.splitlines() if f"**{stage}** —" in ln)


def _warc_only(root: Path) -> None:
    """The run as if it had started from WARC files: no links or fetch stage."""
    for stage in ("links", "fetch"):
        (root / "stats" / f"{stage}.json").unlink()
    shutil.rmtree(root / "links")
    shutil.rmtree(root / "warc")


def _readme(root: Path) -> str:
    write_datacard(str(root))
    return (root / "card" / "README.md").read_text()


def test_wording_follows_the_stages_that_ran(run_dir):
    readme = _readme(run_dir)
    assert "Reddit" in _section(readme, "### Curation Rationale")
    assert "WebText" in _answer(readme, "For what purpose was the dataset created?")
    assert "Fetch outcomes" in _section(readme, "## Bias, Risks, and Limitations")

    _warc_only(run_dir)
    readme = _readme(run_dir)
    rationale = _section(readme, "### Curation Rationale")
    assert "Reddit" not in rationale and "Common Crawl" in rationale
    purpose = _answer(readme, "For what purpose was the dataset created?")
    assert "WebText" not in purpose and "human-curated" not in purpose and "Common Crawl" in purpose
    bias = _section(readme, "## Bias, Risks, and Limitations")
    assert "Reddit" not in bias and "Fetch outcomes" not in bias and "fetch" not in bias
    assert "Reddit" not in _section(readme, "#### Who are the source data producers?")
    assert "linked" not in _section(readme, "#### Who are the source data producers?")
    raw = _answer(readme, "Was the raw data saved in addition to the preprocessed data?")
    assert "WARC files" not in raw and "`filtered/_removed/<reason>/`" in raw and "`dedup/_removed/<reason>/`" in raw


def test_timeframe_is_measured_from_the_documents_capture_times(run_dir):
    _warc_only(run_dir)
    answer = _answer(_readme(run_dir), "Over what timeframe was the data collected?")
    assert answer.startswith("Not measured:") and "fetch_time" in answer  # the fixture's documents have none

    docs = _docs(1, 61)
    times = [f"2020-08-{3 + i % 9:02d}T12:{i % 60:02d}:00Z" for i in range(61)]
    for doc, t in zip(docs, times):
        doc["fetch_time"] = t
    docs[5]["fetch_time"] = None
    write_records(docs[:30], str(run_dir / "dedup" / "part-00000-of-00002.parquet"))
    write_records(docs[30:], str(run_dir / "dedup" / "part-00001-of-00002.parquet"))
    data = write_datacard(str(run_dir))
    kept = [t for i, t in enumerate(times) if i != 5]
    assert data["corpus"]["capture_times"] == {"status": "measured", "shards": 2, "documents_with_time": 60,
                                               "first": min(kept), "last": max(kept)}
    answer = _answer((run_dir / "card" / "README.md").read_text(), "Over what timeframe was the data collected?")
    assert f"from {min(kept)} to {max(kept)}" in answer and "60 of 61 documents in `dedup/`" in answer
    assert "[More Information Needed]" not in answer


def test_tokenizer_vocabulary_and_split_are_the_measured_ones(run_dir):
    RunDir(run_dir).write_stats("tokenize", _stats("tokenize", 61, 61, {}, {
        "tokens": 987654, "vocab_size": 4218, "val_documents": 6, "val_tokens": 98765, "train_tokens": 888889}))
    readme = _readme(run_dir)
    step = _step(readme, "tokenize")
    assert "4,218 vocabulary entries" in step and "the recipe allowed up to 50,257" in step
    assert "vocabulary 50257" not in readme
    splits = _answer(readme, "Are there recommended data splits?")
    assert "6 documents, 98,765 tokens" in splits and "888,889 tokens" in splits


def test_contamination_stage_without_benchmarks_is_reported_consistently(run_dir):
    readme = _readme(run_dir)  # measured: the table is there and the card points to it
    assert "contamination table" in _section(readme, "### Recommendations")

    shutil.rmtree(run_dir / "contamination")
    RunDir(run_dir).write_stats("contamination", _stats("contamination", 0, 0, {}, {"configured": False}))
    RunDir(run_dir).mark_done("contamination")
    data = write_datacard(str(run_dir))
    readme = (run_dir / "card" / "README.md").read_text()
    assert data["contamination"] == {"status": "no benchmark configured"}
    stage_rows = {r[0]: r for r in _table_after(readme, "##### Stages")}
    assert stage_rows["`contamination`"][1] == "ran (no benchmark configured)"
    section = _section(readme, "### Benchmark contamination")
    assert "no benchmark configured" in section and "not run" not in section
    processing = _section(readme, "#### Data Collection and Processing")
    assert "measured overlap" not in processing and "no benchmark configured" in _step(readme, "contamination")
    assert "contamination table" not in _section(readme, "### Recommendations")
    assert "overlap was not measured" in _section(readme, "### Curation Rationale")


def test_duplicates_are_counted_per_kind(run_dir):
    answer = _answer(_readme(run_dir), "Are there any errors, sources of noise, or redundancies?")
    # stats/dedup.json: near_duplicate 130, exact_duplicate 14; the cluster table: 4 near, 3 exact clusters
    assert "14 exact duplicates and 130 near-duplicates" in answer and "7 clusters (3 exact, 4 near)" in answer


def test_dirty_column_is_the_ngram_length(run_dir):
    readme = _readme(run_dir)
    assert "dirty threshold" not in readme and "≥ 8" not in readme
    header = next(ln for ln in _section(readme, "### Benchmark contamination").splitlines() if ln.startswith("| benchmark"))
    assert header.rstrip(" |").endswith("N (words per N-gram)")
    contam = {r[0]: r for r in _table_after(readme, "### Benchmark contamination")}
    assert contam["wikitext-2"][6] == "8"


def _empty_corpus(root: Path) -> None:
    """No document survived: dedup/ and dedup/_clusters/ hold one shard each, with no rows."""
    for shard in (root / "dedup").glob("*.parquet"):
        shard.unlink()
    write_records([], str(root / "dedup" / "part-00000-of-00001.parquet"))
    write_records([], str(root / "dedup" / "_clusters" / "part-00000-of-00001.parquet"), CLUSTER_SCHEMA)
    for shard in (root / "dedup" / "_clusters").glob("*.parquet"):
        if shard.name != "part-00000-of-00001.parquet":
            shard.unlink()


def _detail(readme: str, label: str) -> str:
    """The value of a ``- **label:**`` line of Dataset Details / Dataset Sources."""
    return next(ln for ln in readme.splitlines() if ln.startswith(f"- **{label}:** ")).split(":** ", 1)[1]


def test_empty_corpus_says_no_documents(run_dir):
    _warc_only(run_dir)
    _empty_corpus(run_dir)
    data = write_datacard(str(run_dir))
    readme = (run_dir / "card" / "README.md").read_text()
    assert data["corpus"]["documents"] == 0 and data["clusters"]["clusters"] == 0
    for wrong in ("None", "Top 0", "mean size", "0 Parquet", "1 Parquet shards"):
        assert wrong not in readme, wrong
    assert "no documents" in _section(readme, "### Measured composition")
    assert "1 Parquet shard)" in _section(readme, "### Measured composition")
    assert "No duplicate clusters" in _section(readme, "### Duplicate clusters")
    assert _answer(readme, "How many instances are there in total?").startswith("No documents")
    assert "Not measured: the corpus has no documents" in _answer(readme, "Over what timeframe was the data collected?")


def test_extract_step_names_the_extractor_that_ran(run_dir):
    step = _step(_readme(run_dir), "extract")  # recipe default: combined, min_chars 1
    assert "trafilatura" in step and "newspaper3k" in step and "put back" in step
    assert "1 characters" not in step and "no extracted text" in step
    stats = dict(STATS["extract"], parameters={"extract": {"extractor": "trafilatura", "favor": "precision", "min_chars": 50}})
    RunDir(run_dir).write_stats("extract", stats)  # what the stage recorded wins over the recipe
    step = _step(_readme(run_dir), "extract")
    assert "newspaper3k" not in step and "favor: precision" in step and "fewer than 50 characters" in step


def _walk_funnel(funnel: list[dict]) -> None:
    """Each stage row equals the previous count less the rows under it."""
    count = None
    for r in funnel:
        if r["status"] != "ran":
            continue
        if r["kind"] == "start":
            count = r["count"]
        elif r["kind"] == "stage":
            assert r["count"] == count, r
        else:
            count -= r["count"]


def test_funnel_adds_up_when_links_merge_posts_into_urls(run_dir):
    _walk_funnel(write_datacard(str(run_dir))["funnel"])
    # posts in, canonical URLs out: 1079 posts − 532 removed = 547 posts kept, merged into 412 URLs
    RunDir(run_dir).write_stats("links", _stats("links", 1079, 412, {"karma": 520, "nsfw": 12}, {"posts_kept": 547}))
    data = write_datacard(str(run_dir))
    _walk_funnel(data["funnel"])
    merged = next(r for r in data["funnel"] if r["kind"] == "merged")
    assert merged["count"] == 135 and merged["stage"] == "links"
    readme = (run_dir / "card" / "README.md").read_text()
    assert {r[0]: r[1] for r in _table_after(readme, "##### Funnel")}[f"&nbsp;&nbsp;− {merged['step']}"] == "135"
    # a stage whose stats leave records unexplained gets a row saying so, not a funnel that does not add up
    RunDir(run_dir).write_stats("filter", _stats("filter", 330, 200, {"language": 77, "gopher_quality": 48}))
    rows = [r for r in write_datacard(str(run_dir))["funnel"] if r["kind"] == "unexplained"]
    assert [(r["stage"], r["count"]) for r in rows] == [("filter", 5)]


def test_plurals_and_schema_descriptions(run_dir):
    run = RunDir(run_dir)
    run.write_text(run.recipe_path, Recipe().replace({"run": {"name": "tiny-webtext"}, "datacard": {"top_k": 1}}).to_toml())
    readme = _readme(run_dir)
    assert "#### Top 1 domain (documents)" in readme
    assert "registrable domain" not in readme  # `domain` is the host without www. (docs/architecture.md)
    assert "`domain` | string | yes | lower-case host without `www.`" in readme


def test_datacard_stats_say_what_a_record_is(run_dir):
    from pipelines.webtext import main

    assert main(["datacard", str(run_dir)]) == 0
    stats = json.loads((run_dir / "stats" / "datacard.json").read_text())
    assert stats["details"]["units"]["records_in"] == "stages the card reports on"


def test_languages_of_an_empty_corpus_are_measured_ones_not_the_recipes(run_dir):
    assert _detail(_readme(run_dir), "Language(s) (NLP)") == "en, de"  # measured: most documents first
    _warc_only(run_dir)
    _empty_corpus(run_dir)
    readme = _readme(run_dir)
    line = _detail(readme, "Language(s) (NLP)")
    assert line.startswith("none measured (the corpus has no documents)"), line
    # what the filter was asked to keep may be said, as the recipe's setting
    assert "the recipe's setting `[filter] languages` asked for en" in line
    meta = DatasetCard.load(run_dir / "card" / "README.md").data.to_dict()
    assert "language" not in meta and "multilinguality" not in meta  # the header claims no language either

    (run_dir / "stats" / "filter.json").unlink()  # a setting of a stage that did not run is not mentioned
    line = _detail(_readme(run_dir), "Language(s) (NLP)")
    assert line == "none measured (the corpus has no documents)"


def test_paper_line_cites_what_the_run_followed(run_dir):
    readme = _readme(run_dir)  # Reddit links, then filter and dedup
    paper = _detail(readme, "Paper")
    assert "Radford et al., 2019" in paper and "WebText" in paper
    assert "Brown et al., 2020" in paper and "deduplication" in paper
    assert "radford2019" in _section(readme, "## Citation") and "brown2020" in _section(readme, "## Citation")

    _warc_only(run_dir)
    readme = _readme(run_dir)
    paper = _detail(readme, "Paper")
    assert "Radford" not in paper and "WebText" not in paper and "GPT-2" not in paper
    assert paper.startswith("Brown et al., 2020, *Language Models are Few-Shot Learners*") and "Common Crawl" in paper
    citation = _section(readme, "## Citation")
    assert "radford2019" not in citation and "brown2020" in citation and "gebru2021" in citation
    assert _answer(readme, "For what purpose was the dataset created?").startswith(
        "To pretrain language models on web-archive text, in the manner of GPT-3's Common Crawl processing. ")

    for stage in ("filter", "dedup"):  # extract alone follows neither paper's corpus processing
        (run_dir / "stats" / f"{stage}.json").unlink()
    shutil.rmtree(run_dir / "dedup")
    shutil.rmtree(run_dir / "filtered")
    readme = _readme(run_dir)
    paper = _detail(readme, "Paper")
    assert paper.startswith("none") and "Radford" not in paper and "Brown et al." not in paper
    assert "Brown et al." not in readme.split("## Dataset Details", 1)[0]  # nor does the summary cite it
    purpose = _answer(readme, "For what purpose was the dataset created?")
    assert purpose.startswith("To pretrain language models on web-archive text. ") and "GPT-3" not in purpose
    citation = _section(readme, "## Citation")
    assert "radford2019" not in citation and "brown2020" not in citation and "gebru2021" in citation


def test_fetch_and_capture_times_are_shown_alike_to_the_second(run_dir):
    fetch = [{"url": f"https://x/{i}", "reason": "ok", "status": 200, "bytes": 1000, "truncated": False,
              "fetched_at": t} for i, t in enumerate(["2026-11-20T10:11:12.123456+00:00", "2026-11-20T10:11:13Z",
                                                       "2026-11-20T10:12:14.987654+00:00"])]
    write_records(fetch, str(run_dir / "warc" / "fetch_log" / "part-00000-of-00001.parquet"), FETCH_LOG_SCHEMA)
    docs = _docs(1, 61)
    for i, doc in enumerate(docs):
        doc["fetch_time"] = f"2026-11-20T10:{11 + i % 2}:{i % 60:02d}.{i:06d}Z"  # as the crawler's WARC-Date
    write_records(docs[:30], str(run_dir / "dedup" / "part-00000-of-00002.parquet"))
    write_records(docs[30:], str(run_dir / "dedup" / "part-00001-of-00002.parquet"))
    data = write_datacard(str(run_dir))
    assert data["fetch_log"]["first_fetch"] == "2026-11-20T10:11:12.123456+00:00"  # datacard.json: as measured
    readme = (run_dir / "card" / "README.md").read_text()
    outcomes = _section(readme, "##### Fetch outcomes")
    assert "3 URLs tried between 2026-11-20T10:11:12Z and 2026-11-20T10:12:14Z;" in outcomes
    answer = _answer(readme, "Over what timeframe was the data collected?")
    assert "pages fetched from 2026-11-20T10:11:12Z to 2026-11-20T10:12:14Z" in answer
    assert "captured from 2026-11-20T10:11:00Z to 2026-11-20T10:12:59Z" in answer
    assert "posts from 2005-06-01T00:00:00Z to 2005-06-28T23:07:19Z" in answer  # links' POSIX times, alike
    for raw in (".123456", "+00:00", ".000059Z", " UTC"):
        assert raw not in readme, raw


def test_first_and_last_times_are_compared_as_times_not_strings(run_dir):
    """Times that mix UTC offsets ("+02:00", "Z") and fractions of a second order differently as
    strings and as times; the card takes the earliest and latest as times (datacard.json keeps
    them as written). A value that is not a time is counted in ``unreadable_times`` and is never
    the first or last: it cannot be placed in time, and the card does not fail on it."""
    fetched = ["2026-11-20T11:30:00+02:00",  # 09:30 UTC: the earliest, though not the least string
               "2026-11-20T10:00:00Z",
               "2026-11-20T10:00:00.5Z",  # as a string before "10:00:00Z" ("." < "Z"), as a time after
               "2026-11-20T09:45:00-01:00",  # 10:45 UTC: the latest, though not the greatest string
               "yesterday", "2026-13-40T99:00:00Z"]  # not times
    assert sorted(fetched[:4]) != sorted(fetched[:4], key=parse_time)
    fetch = [{"url": f"https://x/{i}", "reason": "ok", "status": 200, "bytes": 1000, "truncated": False,
              "fetched_at": t} for i, t in enumerate(fetched)]
    write_records(fetch, str(run_dir / "warc" / "fetch_log" / "part-00000-of-00001.parquet"), FETCH_LOG_SCHEMA)
    docs = _docs(1, 61)
    captured = ["2020-08-03T12:00:00.250+02:00", "2020-08-03T10:00:00.0001Z", "2020-08-03T10:00:00Z",
                "2020-08-03 09:59:59.999999-00:30", "not a time"]
    for i, doc in enumerate(docs):
        doc["fetch_time"] = captured[i % len(captured)]
    write_records(docs[:30], str(run_dir / "dedup" / "part-00000-of-00002.parquet"))
    write_records(docs[30:], str(run_dir / "dedup" / "part-00001-of-00002.parquet"))
    data = write_datacard(str(run_dir))
    fetch_log = data["fetch_log"]
    assert (fetch_log["first_fetch"], fetch_log["last_fetch"]) == (fetched[0], fetched[3])
    assert fetch_log["unreadable_times"] == 2
    ct = data["corpus"]["capture_times"]
    # as strings the first would be captured[3] (" " < "T") and the last captured[0] ("12:" > "10:")
    assert (ct["first"], ct["last"]) == (captured[2], captured[3])  # 10:00:00 UTC and 10:29:59.999999 UTC
    assert ct["documents_with_time"] == 61 and ct["unreadable_times"] == sum(i % 5 == 4 for i in range(61))
    readme = (run_dir / "card" / "README.md").read_text()
    assert "6 URLs tried between 2026-11-20T09:30:00Z and 2026-11-20T10:45:00Z;" in _section(readme, "##### Fetch outcomes")
    answer = _answer(readme, "Over what timeframe was the data collected?")
    assert "pages fetched from 2026-11-20T09:30:00Z to 2026-11-20T10:45:00Z" in answer
    assert "captured from 2020-08-03T10:00:00Z to 2020-08-03T10:29:59Z" in answer


def test_timeframe_answer_starts_a_sentence_whichever_span_comes_first(run_dir):
    assert _answer(_readme(run_dir), "Over what timeframe was the data collected?").startswith("Reddit posts from ")
    _warc_only(run_dir)  # no Reddit posts or fetch log: the corpus' capture times come first
    docs = _docs(1, 61)
    for doc in docs:
        doc["fetch_time"] = "2026-11-20T10:11:12Z"
    shutil.rmtree(run_dir / "dedup")
    write_records(docs, str(run_dir / "dedup" / "part-00000-of-00001.parquet"))
    RunDir(run_dir).mark_done("dedup")
    answer = _answer(_readme(run_dir), "Over what timeframe was the data collected?")
    assert answer.startswith("The corpus' documents captured from "), answer


def test_uses_answer_does_not_claim_tokens_that_were_not_produced(run_dir):
    question = "Has the dataset been used for any tasks already?"
    assert _answer(_readme(run_dir), question) == "Tokenized for language-model training by this run."
    RunDir(run_dir).write_stats("tokenize", _stats("tokenize", 61, 61, {}, {"tokens": 0}))
    answer = _answer(_readme(run_dir), question)
    assert "Tokenized" not in answer and "tokenize stage ran and produced no tokens" in answer


def test_summary_without_a_measured_corpus_ends_its_sentence_cleanly(run_dir):
    _warc_only(run_dir)
    shutil.rmtree(run_dir / "dedup")
    shutil.rmtree(run_dir / "filtered")  # no document stage output: nothing to say about the corpus
    for stage in ("dedup", "filter"):  # finished stages (their _SUCCESS) that left no documents
        RunDir(run_dir).mark_done(stage)
    readme = _readme(run_dir)
    summary = _section(readme, "### Dataset Description").strip().splitlines()[0]
    assert summary.endswith("deduplicated in the manner of GPT-3's Common Crawl processing (Brown et al., 2020). "
                            "Every count and measurement in this card comes from the run (`stats/*.json` and the "
                            "run's Parquet outputs); settings (thresholds, limits) are those the stages recorded, "
                            "else the recipe's; `datacard.json` holds the same numbers for machines.")
    assert "  " not in summary and " \n" not in readme.split("## Dataset Details", 1)[0]


def test_card_wording_is_true_to_what_was_measured(run_dir):
    """Cluster similarity per kind (an exact cluster's 1.0 was averaged into an "estimated" mean), the
    decontaminated copy named without a home directory or a path relative to who knows what, the
    decontaminate step among the numbered steps, the recipe's source in plain words, and as many
    validation shards as the tokens' manifest lists (not "shard 0")."""
    from corpus_tools.datacard import DECONTAMINATION_COUNTS
    from pipelines.webtext import main

    run = RunDir(run_dir)
    details = {**{k: 1 for k in DECONTAMINATION_COUNTS}, "n": 13, "window": 200, "min_piece": 200,
               "max_splits": 10, "max_doc_freq": 10, "benchmarks": ["wikitext-2"]}
    stats = _stats("decontaminate", 1, 1, {}, details)
    stats["outputs"] = {"docs": str(run_dir / "decontaminated")}
    run.write_stats("decontaminate", stats)
    shards = ([{"file": f"webtext_val_{i:06d}.bin", "split": "val", "tokens": 300} for i in range(3)]
              + [{"file": f"webtext_train_{i:06d}.bin", "split": "train", "tokens": 300} for i in range(3, 8)])
    (run_dir / "tokens" / "manifest.json").write_text(json.dumps({"shards": shards}))
    assert main(["datacard", str(run_dir)]) == 0
    readme = (run_dir / "card" / "README.md").read_text()
    assert str(run_dir.parent) not in readme  # no local path outside the run is published

    clusters = _section(readme, "### Duplicate clusters")
    assert "mean estimated Jaccard similarity" not in clusters and "MinHash signatures estimate" in clusters
    rows = {r[0]: r for r in _table_after(readme, "### Duplicate clusters")}
    assert rows["exact"][4] == "1.0" and rows["near"][4] == "0.85"

    steps = _section(readme, "#### Data Collection and Processing")
    assert "9. **decontaminate** — `webtext decontaminate` removed the 13-grams shared with wikitext-2" in steps
    decon = _section(readme, "#### Decontamination")
    assert "from a copy of the corpus, written to `decontaminated/` in the run directory;" in decon
    stats["outputs"] = {"docs": "out/decontaminated"}  # as an older webtext recorded --out: as typed
    run.write_stats("decontaminate", stats)
    assert main(["datacard", str(run_dir)]) == 0
    decon = _section((run_dir / "card" / "README.md").read_text(), "#### Decontamination")
    assert "written to `out/decontaminated` (relative to the folder the command was run from)" in decon

    assert "The full recipe (the stage's recipe)" not in readme
    assert "The full recipe, from the run's `recipe.toml`, every default filled in; rerunning" in readme
    splits = _answer(readme, "Are there recommended data splits?")
    assert "Token shard 0" not in splits
    assert splits.startswith("The validation split is 3 token shards (`*_val_*.bin`, the first 3)")
    assert "the training split is 5 token shards (`*_train_*.bin`)" in splits
    assert "3 token shards (`*_val_*.bin`, the first 3) held out for validation" in _step(readme, "tokenize")
