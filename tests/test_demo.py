"""`make demo` end to end: the whole job offline, and a data card whose funnel removed something
at every stage for a stated reason (issue: the whole job)."""

import csv
import json

import pytest

from corpus_tools.rundir import RunDir
from corpus_tools.shards import read_table
from pipelines import demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert demo.main(["--out", str(out)]) == 0
    return out, buf.getvalue()


def test_every_funnel_stage_removed_something_for_a_reason(demo_run):
    out, _ = demo_run
    run = RunDir(out / "run")
    expected = {
        "links": {"below_karma", "nsfw", "self_post", "bad_json", "bad_extension", "blocked_domain:wikipedia",
                  "blocked_domain:media"},
        "fetch": {"robots", "http_4xx", "bad_type"},
        "extract": {"no_text"},
        "filter": {"language"},
        "dedup": {"exact_duplicate", "near_duplicate"},
    }
    for stage, reasons in expected.items():
        stats = run.read_stats(stage)
        assert reasons <= set(stats["reasons"]), (stage, stats["reasons"])
        assert all(v > 0 for v in stats["reasons"].values())
    for stage in ("fetch", "extract", "filter", "dedup"):
        s = run.read_stats(stage)  # nothing lost inside a stage
        assert s["records_in"] == s["records_out"] + sum(s["reasons"].values()), stage
    # every non-English page was removed by language ID
    removed = read_table(str(out / "run" / "filtered" / "_removed" / "language"))
    assert {"de", "es", "fr"} <= {u.split("/")[3] for u in removed.column("url").to_pylist()}


def test_a_folder_reader_on_a_stage_folder_sees_its_main_output_only(demo_run):
    # pandas/pyarrow read a stage folder recursively: side outputs (dead letters, removed documents,
    # clusters) must not be mixed into it, though they sit inside the folder.
    import pandas as pd

    from corpus_tools.schema import DOC_SCHEMA

    out, _ = demo_run
    run = RunDir(out / "run")
    for stage in ("extract", "filter", "dedup"):
        folder = run.stage_dir(stage)
        df = pd.read_parquet(folder)
        assert len(df) == run.read_stats(stage)["records_out"], stage
        assert list(df.columns) == DOC_SCHEMA.names, stage
        assert len(df) == read_table(folder).num_rows
    # the removed documents are still there, beside the kept ones
    assert read_table(f"{run.stage_dir('filter')}/_removed/language").num_rows > 0


def test_card_shows_the_funnel(demo_run):
    out, _ = demo_run
    card = (out / "run" / "card" / "README.md").read_text()
    assert "![Funnel" in card and (out / "run" / "card" / "figures" / "funnel.png").stat().st_size > 5000
    final = read_table(str(out / "run" / "dedup")).num_rows
    assert f"| **deduplicated (final)** | {final} |" in card
    data = json.loads((out / "run" / "card" / "datacard.json").read_text())
    assert data["corpus"]["documents"] == final


def test_contamination_finds_exactly_the_planted_passages_left_in_the_corpus(demo_run):
    out, _ = demo_run
    urls = set(read_table(str(out / "run" / "dedup")).column("url").to_pylist())
    # an article's passage is in the corpus under its own URL or a mirror/archive copy's
    slugs_in_corpus = {u.rsplit("/", 1)[1][:-len(".html")] for u in urls
                       if u.split("/")[3] in ("articles", "mirror", "archive")}
    with open(out / "run" / "contamination" / "examples-demo.csv") as fh:
        rows = {r["example_id"].split(":", 1)[1]: r for r in csv.DictReader(fh)}
    assert len(rows) == 12
    for ex_id, row in rows.items():
        planted = ex_id.startswith("dirty-")
        in_corpus = planted and ex_id[len("dirty-"):] in slugs_in_corpus
        assert (row["dirty"] == "1") == in_corpus, ex_id
    assert sum(r["dirty"] == "1" for r in rows.values()) >= 2


def test_tokens_model_and_sample(demo_run):
    out, printed = demo_run
    run = out / "run"
    assert sorted(p.name for p in (run / "tokens").glob("*.bin"))
    assert (run / "tokenizer" / "tokenizer.json").exists() and (run / "tokenizer" / "merges.txt").exists()
    metrics = [json.loads(line) for line in (run / "model" / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["step"] == 60 and metrics[-1]["loss"] < metrics[0]["loss"]
    assert (run / "model" / "hf" / "config.json").exists()
    sample = printed.split("$ webtext sample", 1)[1].split("=== demo", 1)[0]
    assert "The if statement" in sample and len(sample.split("\n", 1)[1].strip()) > 10
    assert "where everything is:" in printed


def test_every_beam_stage_graph_serialises_to_the_runner_api(demo_run):
    """What Dataflow/Flink/Spark receive: each stage's graph, every DoFn pickled, round-tripped."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from corpus_tools.recipe import load_recipe
    from pipelines.stage import StageContext
    from pipelines.stages import load_stage

    out, _ = demo_run
    run = RunDir(out / "run")
    recipe = load_recipe(run.recipe_path)
    inputs = {"links": [str(out / "inputs" / "RS_2026-01.zst")]}
    for name in ("links", "fetch", "extract", "filter", "dedup", "bloom"):
        ctx = StageContext(run, recipe, inputs=inputs.get(name), build_only=True)
        ctx._stage = name
        load_stage(name).run(ctx)
        assert ctx.built, name
        for p in ctx.built:
            proto = p.to_runner_api()
            pardos = [t for t in proto.components.transforms.values() if t.spec.urn == "beam:transform:pardo:v1"]
            assert pardos, name
            beam.Pipeline.from_runner_api(proto, p.runner, PipelineOptions([]))
    # building changed nothing in the run directory
    assert run.read_stats("dedup")["records_out"] == read_table(str(out / "run" / "dedup")).num_rows
