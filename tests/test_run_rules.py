"""The run directory's rules on a rerun (docs/architecture.md "The run directory"), through the CLI
on real data: which recipe and inputs a rerun uses, and when it is refused."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import write_records
from pipelines.webtext import main


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not (ln.startswith("[") and ln.endswith("] running"))]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert lines[0].startswith("webtext ") and "error:" in lines[0] and "Traceback" not in err
    return lines[0]


@pytest.fixture()
def dumps(shared_data):
    return tuple(str(shared_data / "reddit" / f"RS_v2_2005-0{m}.xz") for m in (6, 7))


def _shards(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".parquet"))


def _news(shared_data) -> list[str]:
    return [ln for ln in (shared_data / "corpora" / "lee-news-background.txt").read_text().splitlines() if ln.strip()]


def _news_corpus(shared_data, folder, n: int = 60):
    """The first ``n`` news articles as one Parquet shard of documents."""
    docs = [new_document(id=make_doc_id(f"http://news/{i}", t), url=f"http://news/{i}", text=t)
            for i, t in enumerate(_news(shared_data)[:n])]
    write_records(sorted(docs, key=lambda d: d["id"]), str(folder / "part-00000-of-00001.parquet"))
    return folder


def _files(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _executions(run) -> dict[str, str]:
    return {p.stem: json.loads(p.read_text())["execution_id"] for p in (run / "stats").glob("*.json")}


def _count_checks(monkeypatch) -> Counter:
    """Stage.check calls by stage, counted by wrapping each stage's own check (which still runs)."""
    from pipelines.stages import available_stages, load_stage

    calls: Counter = Counter()
    for name in available_stages():
        cls = type(load_stage(name))

        def counted(self, recipe, _check=cls.check):
            calls[self.name] += 1
            return _check(self, recipe)
        monkeypatch.setattr(cls, "check", counted)
    return calls


# ------------------------------------------------------------------ 1. --recipe keeps [run] inputs
def test_a_recipe_without_inputs_keeps_the_inputs_the_run_recorded(dumps, tmp_path, capsys):
    june, july = dumps
    run = tmp_path / "run"
    r = tmp_path / "r.toml"
    r.write_text("[links]\nmin_karma = 3\n")
    assert main(["run", "--recipe", str(r), "--input", june, "--out", str(run), "--stages", "links"]) == 0
    assert f'inputs = [\n    "{june}",\n]' in (run / "recipe.toml").read_text()
    # --recipe without --input: the recorded inputs, also for a stage that runs again
    assert main(["run", "--recipe", str(r), "--out", str(run), "--stages", "links", "--force", "links"]) == 0
    assert f'inputs = [\n    "{june}",\n]' in (run / "recipe.toml").read_text()
    assert json.loads((run / "stats" / "links.json").read_text())["inputs"] == [june]
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "links", "--force", "links"]) == 0
    assert "[links] done" in capsys.readouterr().err
    # a recipe that names its own inputs uses them: another dump than the finished stage read
    other = tmp_path / "other.toml"
    other.write_text(f'[run]\ninputs = ["{july}"]\n')
    assert main(["run", "--recipe", str(other), "--out", str(run), "--stages", "links"]) == 2
    err = _one_error_line(capsys)
    assert f"from other inputs ({june}) than these ({july})" in err and "--force links" in err


# ------------------------------------------------------------------ 2. [run] num_shards and seed
def test_a_changed_num_shards_refuses_the_stages_it_shapes(dumps, tmp_path, capsys):
    june, _ = dumps
    run = tmp_path / "run"
    two, three, seed = (tmp_path / f"{n}.toml" for n in ("two", "three", "seed"))
    two.write_text("[run]\nnum_shards = 2\n")
    three.write_text("[run]\nnum_shards = 3\n")
    seed.write_text("[run]\nnum_shards = 2\nseed = 99\n")
    assert main(["run", "--recipe", str(two), "--input", june, "--out", str(run), "--stages", "links"]) == 0
    assert json.loads((run / "stats" / "links.json").read_text())["parameters"]["run"] == {"num_shards": 2}
    recipe = (run / "recipe.toml").read_text()
    capsys.readouterr()
    assert main(["run", "--recipe", str(three), "--out", str(run), "--stages", "links"]) == 2
    err = _one_error_line(capsys)
    assert "with other settings ([run] num_shards: 2 -> 3)" in err and "--force links" in err
    assert (run / "recipe.toml").read_text() == recipe
    # the seed does not change what links writes: still done
    assert main(["run", "--recipe", str(seed), "--out", str(run), "--stages", "links"]) == 0
    assert "[links] already done" in capsys.readouterr().err
    # redone: its shards and recipe.toml follow the recipe
    assert main(["run", "--recipe", str(three), "--out", str(run), "--stages", "links", "--force", "links"]) == 0
    assert len(_shards(run / "links")) == 3 and "num_shards = 3" in (run / "recipe.toml").read_text()
    # stats of an older webtext, without [run] parameters, are still accepted
    stats = json.loads((run / "stats" / "links.json").read_text())
    del stats["parameters"]["run"]
    (run / "stats" / "links.json").write_text(json.dumps(stats))
    capsys.readouterr()
    assert main(["run", "--recipe", str(two), "--out", str(run), "--stages", "links"]) == 0
    assert "[links] already done" in capsys.readouterr().err


def test_filter_and_dedup_are_refused_on_another_num_shards_dedup_not_on_another_seed(shared_data, tmp_path,
                                                                                       capsys):
    lines = (shared_data / "corpora" / "lee-news-background.txt").read_text(encoding="utf-8").splitlines()
    docs = tmp_path / "docs"
    rows = []
    for i, text in enumerate(t for t in lines if t.strip()):
        url = f"https://news{i % 7}.example/{i}"
        rows.append(new_document(id=make_doc_id(url, text), url=url, domain=url.split("/")[2], text=text,
                                 language="en"))
    write_records(rows[:120], str(docs / "part-00000-of-00001.parquet"))
    keep = "[filter]\nlanguages = []\nmin_language_score = 0.0\nrules = []\n"
    two, three, seed = (tmp_path / f"{n}.toml" for n in ("two", "three", "seed"))
    two.write_text(keep + "[run]\nnum_shards = 2\n")
    three.write_text(keep + "[run]\nnum_shards = 3\n")
    seed.write_text(keep + "[run]\nnum_shards = 2\nseed = 99\n")
    run = tmp_path / "run"
    argv = ["run", "--out", str(run), "--input", str(docs), "--stages", "filter,dedup"]
    assert main(argv + ["--recipe", str(two)]) == 0
    assert len(_shards(run / "filtered")) == 2 and len(_shards(run / "dedup")) == 2
    capsys.readouterr()
    # the audit's case: --force dedup with 3 shards would leave filtered/ with 2 under a recipe saying 3
    assert main(argv + ["--recipe", str(three), "--force", "dedup"]) == 2
    assert "stage 'filter'" in (err := _one_error_line(capsys)) and "[run] num_shards: 2 -> 3" in err
    assert len(_shards(run / "dedup")) == 2 and "num_shards = 2" in (run / "recipe.toml").read_text()
    # the filter draws with the seed, dedup does not
    assert main(argv + ["--recipe", str(seed)]) == 2
    assert "stage 'filter'" in (err := _one_error_line(capsys)) and "[run] seed: 1234 -> 99" in err
    assert main(["dedup", "--out", str(run), "--recipe", str(seed)]) == 0
    assert "[dedup] already done" in capsys.readouterr().err
    assert main(argv + ["--recipe", str(three), "--force", "filter"]) == 0
    assert len(_shards(run / "filtered")) == 3 and len(_shards(run / "dedup")) == 3


# ------------------------------------------------------------------ 3. the same inputs spelled otherwise
def test_the_same_files_named_otherwise_are_the_same_inputs(dumps, tmp_path, capsys, monkeypatch):
    june, july = dumps
    run = tmp_path / "run"
    assert main(["run", "--input", june, july, "--out", str(run), "--stages", "links"]) == 0
    link = tmp_path / "dumps-link"
    link.symlink_to(os.path.dirname(june), target_is_directory=True)
    monkeypatch.chdir(os.path.dirname(june))
    for spelled in (["RS_v2_2005-07.xz", "RS_v2_2005-06.xz"],  # relative, in another order
                    [os.path.join(os.path.dirname(june), "RS_v2_2005-0[67].xz")],  # one glob
                    ["./RS_v2_2005-0*.xz"],
                    [str(link / "RS_v2_2005-06.xz"), str(link / "RS_v2_2005-07.xz")]):  # through a symlink
        capsys.readouterr()
        assert main(["run", "--input", *spelled, "--out", str(run), "--stages", "links"]) == 0, spelled
        assert "[links] already done" in capsys.readouterr().err
    # other files: refused, naming what the stage read and what was given
    assert main(["run", "--input", "RS_v2_2005-06.xz", "--out", str(run), "--stages", "links"]) == 2
    err = _one_error_line(capsys)
    assert f"from other inputs ({june} {july}) than these (RS_v2_2005-06.xz)" in err and "--force links" in err


# ------------------------------------------------------------------ 4. --stages and --force
def test_an_empty_stages_list_is_refused_not_every_stage(dumps, tmp_path, capsys):
    run = tmp_path / "run"
    for stages in ("", " , "):
        assert main(["run", "--input", dumps[0], "--out", str(run), "--stages", stages]) == 2
        assert "names no stage" in _one_error_line(capsys)
    assert not run.exists()


def test_a_force_for_a_stage_not_run_is_refused(dumps, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", "--input", dumps[0], "--out", str(run), "--stages", "links", "--force", "dedup"]) == 2
    err = _one_error_line(capsys)
    assert "--force dedup" in err and "not among the stages" in err and "(links)" in err
    assert not run.exists()
    assert main(["run", "--input", dumps[0], "--out", str(run), "--stages", "links", "--force", "all"]) == 0


def test_every_stage_that_reads_a_run_setting_records_it():
    """A stage whose code reads `[run] num_shards` or `seed` names it in `run_keys`, so a change of it
    is refused, not skipped over as "already done". The exceptions are settings that do not shape
    the stage's output: fetch's seed times its retries; bloom's picks the self-check sample of its stats."""
    import inspect

    from pipelines.stages import STAGES, load_stage

    not_output = {("fetch", "seed"), ("bloom", "seed")}
    for name in STAGES:
        stage = load_stage(name)
        source = inspect.getsource(inspect.getmodule(type(stage)))
        for key in ("num_shards", "seed"):
            if f"recipe.run.{key}" in source and (name, key) not in not_output:
                assert key in stage.run_keys, f"{name} reads [run] {key} but does not record it"


# ------------------------------------------------------------------ 5. settings checked before any stage runs
@pytest.mark.parametrize("section, setting, fault", [
    ("fetch", 'ca_bundle = "{tmp}/none.pem"', "[fetch] ca_bundle = '{tmp}/none.pem': no such file"),
    ("fetch", 'ca_bundle = "{tmp}/notes.txt"', "[fetch] ca_bundle = '{tmp}/notes.txt': not a PEM file"),
    ("filter", 'quality_model = "{tmp}/none.bin"', "[filter] quality_model = '{tmp}/none.bin': no such file"),
    ("filter", 'quality_model = "{tmp}/notes.txt"', "[filter] quality_model = '{tmp}/notes.txt': not a fastText model"),
    ("contamination", 'benchmarks = ["lambada={tmp}/none.jsonl:text"]',
     "[contamination] benchmarks: benchmark lambada: {tmp}/none.jsonl: no such file or folder"),
    ("tokenize", 'tokenizer = "{tmp}"', "[tokenize] tokenizer = '{tmp}': needs vocab.json or encoder.json"),
], ids=["ca-missing", "ca-not-pem", "model-missing", "model-not-fasttext", "bench-missing", "tokenizer-empty"])
def test_a_wrong_file_in_the_recipe_stops_the_run_before_its_first_stage(dumps, tmp_path, capsys, section, setting,
                                                                          fault):
    """A file the recipe names for a later stage (the filter's quality model, fetch's CA bundle,
    a benchmark, a tokenizer folder) is checked before the first stage runs: one line, exit 2,
    and nothing ran (no run directory). It was found when that stage started: after links and a
    day's fetch, and a missing quality model was a ValueError traceback from inside Beam."""
    (tmp_path / "notes.txt").write_text("not a certificate nor a model\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"[{section}]\n{setting.format(tmp=tmp_path)}\n")
    run = tmp_path / "run"
    assert main(["run", "--input", dumps[0], "--out", str(run), "--recipe", str(recipe)]) == 2
    assert _one_error_line(capsys).startswith(f"webtext run: error: {fault.format(tmp=tmp_path)}")
    assert not run.exists()


def test_a_finished_stage_is_not_checked_again_one_that_runs_is(shared_data, tmp_path, capsys):
    """Only stages that will run are checked: a tokenizer folder removed after tokenize finished
    does not stop a rerun that skips it; forcing the stage does."""
    gpt2 = tmp_path / "gpt2"
    gpt2.mkdir()
    for name in ("encoder.json", "vocab.bpe"):
        (gpt2 / name).write_bytes((shared_data / "gpt2-bpe" / name).read_bytes())
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[tokenize]\ntokenizer = "{gpt2}"\nshard_tokens = 100000\n')
    run = tmp_path / "run"
    cmd = ["run", "--input", str(shared_data / "corpora" / "lee-news-background.txt"), "--out", str(run),
           "--recipe", str(recipe), "--stages", "tokenize"]
    assert main(cmd) == 0
    for f in gpt2.iterdir():
        f.unlink()
    capsys.readouterr()
    assert main(cmd) == 0
    assert "[tokenize] already done" in capsys.readouterr().err
    assert main(cmd + ["--force", "tokenize"]) == 2
    assert f"[tokenize] tokenizer = '{gpt2}': " in _one_error_line(capsys)
    assert (run / "tokens").is_dir()  # the finished stage is left as it was


# ------------------------------------------------------------------ 6. what a later stage reads; partial recipes
def test_a_later_first_stage_reads_its_upstream_folder_not_the_runs_inputs(shared_data, tmp_path, capsys):
    """`[run] inputs` feed the stage that reads them (extract, for WARC files); `webtext run --out
    RUN --stages filter,dedup` of that run reads RUN/docs, as `--stages tokenize` of a run begun
    from dumps reads RUN/dedup. The recorded WARC went to filter, which refused it ("from other
    inputs") or, forced, read the raw input. An --input given to a later stage is not recorded as
    the run's inputs."""
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    run = tmp_path / "run"
    recipe = tmp_path / "r.toml"
    recipe.write_text('[filter]\nlanguages = []\n')
    assert main(["run", "--input", warc, "--out", str(run), "--recipe", str(recipe),
                 "--stages", "extract,filter,dedup"]) == 0
    assert main(["run", "--out", str(run), "--stages", "filter,dedup", "--force", "filter"]) == 0
    stats = json.loads((run / "stats" / "filter.json").read_text())
    assert stats["inputs"] == [str(run / "docs")] and stats["records_in"] > 0
    # extract is the stage the recorded WARC feeds: it still reads it
    assert main(["run", "--out", str(run), "--stages", "extract", "--force", "extract"]) == 0
    assert json.loads((run / "stats" / "extract.json").read_text())["inputs"] == [warc]
    # an --input for filter is filter's, not the run's: recipe.toml keeps the WARC
    assert main(["run", "--out", str(run), "--input", str(run / "docs"), "--stages", "filter", "--force",
                 "filter"]) == 0
    assert f'inputs = [\n    "{warc}",\n]' in (run / "recipe.toml").read_text()


def test_a_partial_recipe_changes_what_it_names_and_keeps_the_rest(dumps, tmp_path, capsys):
    """A --recipe for a run directory that has a recipe.toml changes the settings it sets; the
    others stay as recorded. A [datacard] licence given to `webtext datacard` (as its help says)
    wrote every other setting back to its default: [run] num_shards 2 -> 4, seed, inputs, so every
    finished stage was then "changed" and `webtext run` refused to go on."""
    june, _ = dumps
    run = tmp_path / "run"
    first = tmp_path / "first.toml"
    first.write_text("[run]\nnum_shards = 2\nseed = 7\n[links]\nmin_karma = 2\n")
    assert main(["run", "--input", june, "--out", str(run), "--recipe", str(first), "--stages", "links"]) == 0
    card = tmp_path / "card.toml"
    card.write_text('[datacard]\nlicense = "odc-by"\n')
    assert main(["datacard", str(run), "--recipe", str(card)]) == 0
    recorded = (run / "recipe.toml").read_text()
    assert 'license = "odc-by"' in recorded
    assert "num_shards = 2\n" in recorded and "seed = 7\n" in recorded and "min_karma = 2\n" in recorded
    assert f'inputs = [\n    "{june}",\n]' in recorded
    assert "odc-by" in (run / "card" / "README.md").read_text()
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "links"]) == 0  # nothing changed: links is done
    assert "[links] already done" in capsys.readouterr().err
    # a setting the file names is changed, and a finished stage it shapes is refused as before
    karma = tmp_path / "karma.toml"
    karma.write_text("[links]\nmin_karma = 5\n")
    assert main(["links", "--out", str(run), "--recipe", str(karma)]) == 2
    assert "([links] min_karma: 2 -> 5)" in _one_error_line(capsys)


def test_a_stage_whose_upstream_is_neither_selected_nor_done_is_refused_before_any_runs(shared_data, tmp_path,
                                                                                       capsys):
    """`--stages extract,dedup`: dedup reads RUN/filtered, which nothing makes. It was found after
    extract had run, with "run it first or pass --input" (an --input that in `webtext run` means
    WARC files). Now one line before anything runs; with filter done, the same stages run."""
    warc = str(shared_data / "warc" / "cc-main-2024-22-whirlwind.warc.gz")
    run = tmp_path / "run"
    assert main(["run", "--input", warc, "--out", str(run), "--stages", "extract,dedup"]) == 2
    assert _one_error_line(capsys) == (f"webtext run: error: --stages extract,dedup: dedup reads the output of filter, "
                                       f"which is neither among them nor done in {run}; add filter to --stages")
    assert not run.exists()


# ------------------------------------------------------------------ 7. the data card of stages redone since
def test_a_card_made_before_a_stage_was_redone_is_stale_not_already_done(shared_data, tmp_path, capsys):
    """The card records the execution of every stage whose stats it read: after `webtext tokenize
    --force tokenize` with another tokenizer, the card describing the old one is not "already done":
    `webtext run` remakes it (a report of the others' outputs, cheap: not refused like a stale stage)."""
    text = str(shared_data / "corpora" / "lee-news-background.txt")
    recipe = tmp_path / "r.toml"
    recipe.write_text("[tokenize]\nvocab_size = 1000\n")
    run = tmp_path / "run"
    assert main(["run", "--input", text, "--out", str(run), "--recipe", str(recipe),
                 "--stages", "tokenize,datacard"]) == 0
    tokenize = json.loads((run / "stats" / "tokenize.json").read_text())
    card = json.loads((run / "stats" / "datacard.json").read_text())
    assert card["input_executions"] == {"tokenize": tokenize["execution_id"]}
    assert "byte-level BPE trained on the corpus" in (run / "card" / "README.md").read_text()

    gpt2 = str(shared_data / "gpt2-bpe")
    assert main(["tokenize", "--input", text, "--out", str(run), "--tokenizer", gpt2, "--force", "tokenize"]) == 0
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "tokenize,datacard"]) == 0
    out = capsys.readouterr().err.strip().splitlines()
    assert out[0].startswith("[tokenize] already done") and "Traceback" not in "".join(out)
    assert "[datacard] redoing it: made from an earlier output of tokenize" in out
    # the card now describes the tokenizer the shards were made with (`webtext datacard RUN` always remakes it)
    readme = (run / "card" / "README.md").read_text()
    assert "the given tokenizer `gpt2-bpe`" in readme and "trained on the corpus" not in readme
    tokenize = json.loads((run / "stats" / "tokenize.json").read_text())
    assert json.loads((run / "stats" / "datacard.json").read_text())["input_executions"] == {
        "tokenize": tokenize["execution_id"]}
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "tokenize,datacard"]) == 0
    assert "[datacard] already done" in capsys.readouterr().err


def test_a_card_made_before_a_stage_first_ran_is_stale(shared_data, tmp_path, capsys):
    """A stage run into the run for the first time after the card (its own command, or `webtext
    decontaminate --run RUN`) is one the card does not describe: the card is stale, as for a stage
    redone since, and `webtext run` remakes it. It was "already done", reporting dedup "not run"."""
    corpus = _news_corpus(shared_data, tmp_path / "docs")
    recipe = tmp_path / "r.toml"
    recipe.write_text("[tokenize]\nvocab_size = 600\n")
    run = tmp_path / "run"
    assert main(["run", "--input", str(corpus), "--out", str(run), "--recipe", str(recipe),
                 "--stages", "tokenize,datacard"]) == 0
    assert json.loads((run / "card" / "datacard.json").read_text())["stages"]["dedup"]["status"] == "not run"
    assert main(["dedup", "--out", str(run), "--input", str(corpus)]) == 0
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "tokenize,datacard"]) == 0
    err = capsys.readouterr().err
    assert "[tokenize] already done" in err and "[datacard] redoing it: made before dedup ran" in err
    assert json.loads((run / "card" / "datacard.json").read_text())["stages"]["dedup"]["status"] == "ran"
    ids = _executions(run)
    assert json.loads((run / "stats" / "datacard.json").read_text())["input_executions"] == {
        "dedup": ids["dedup"], "tokenize": ids["tokenize"]}

    bench = tmp_path / "news.txt"
    bench.write_text("\n".join(_news(shared_data)[:3]) + "\n")
    assert main(["decontaminate", "--input", str(run / "dedup"), "--bench", f"news={bench}",
                 "--out", str(tmp_path / "clean"), "--run", str(run)]) == 0
    capsys.readouterr()
    assert main(["run", "--out", str(run), "--stages", "tokenize,datacard"]) == 0
    assert "[datacard] redoing it: made before decontaminate ran" in capsys.readouterr().err
    assert json.loads((run / "card" / "datacard.json").read_text())["decontamination"]["status"] == "measured"
    assert "decontaminate" in json.loads((run / "stats" / "datacard.json").read_text())["input_executions"]
    assert main(["run", "--out", str(run), "--stages", "tokenize,datacard"]) == 0
    assert "[datacard] already done" in capsys.readouterr().err


# ------------------------------------------------------------------ 8. --force follows what each stage reads
def test_force_redoes_the_stages_that_read_the_forced_one_and_checks_each_stage_once(shared_data, tmp_path,
                                                                                    capsys, monkeypatch):
    """`--force bloom` redoes bloom and what reads it (contamination, the card), not tokenize, which
    reads dedup: its tokenizer, shards and stats stay as they were (it retrained the BPE and
    retokenized, every stage after a forced one was redone). `--force dedup` redoes bloom and
    tokenize too. Each stage that runs is checked once (it was twice: before the first stage, and
    again as it started; contamination read its benchmarks each time)."""
    corpus = _news_corpus(shared_data, tmp_path / "docs")
    bench = tmp_path / "news.txt"
    bench.write_text("\n".join(_news(shared_data)[:3]) + "\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[bloom]\nself_check_queries = 0\n[contamination]\nbenchmarks = ["news={bench}"]\n'
                      f"[tokenize]\nvocab_size = 600\n")
    run = tmp_path / "run"
    stages = ("dedup", "bloom", "contamination", "tokenize", "datacard")
    cmd = ["run", "--input", str(corpus), "--out", str(run), "--recipe", str(recipe), "--stages", ",".join(stages)]
    checks = _count_checks(monkeypatch)
    assert main(cmd) == 0
    assert checks == Counter(stages)
    first = _executions(run)
    tokenize = {"tokens": _files(run / "tokens"), "tokenizer": _files(run / "tokenizer"),
                "stats": (run / "stats" / "tokenize.json").read_bytes()}
    checks.clear()
    capsys.readouterr()

    assert main(cmd + ["--force", "bloom"]) == 0
    err = capsys.readouterr().err
    assert "[dedup] already done" in err and "[tokenize] already done" in err and "training byte-level BPE" not in err
    second = _executions(run)
    assert {s for s in stages if second[s] != first[s]} == {"bloom", "contamination", "datacard"}
    assert {"tokens": _files(run / "tokens"), "tokenizer": _files(run / "tokenizer"),
            "stats": (run / "stats" / "tokenize.json").read_bytes()} == tokenize
    assert checks == Counter(("bloom", "contamination", "datacard"))
    card = json.loads((run / "stats" / "datacard.json").read_text())["input_executions"]
    assert card == {s: second[s] for s in stages if s != "datacard"}
    checks.clear()

    assert main(cmd + ["--force", "dedup"]) == 0
    third = _executions(run)
    assert all(third[s] != second[s] for s in stages)
    assert json.loads((run / "stats" / "tokenize.json").read_text())["input_executions"] == {"dedup": third["dedup"]}
    assert checks == Counter(stages)
    checks.clear()

    # a stage's own command checks it, once
    assert main(["tokenize", "--out", str(run), "--force", "tokenize"]) == 0
    assert main(["datacard", str(run)]) == 0
    assert checks == Counter(("tokenize", "datacard"))


def test_what_each_stage_is_redone_after():
    """The rule `webtext run` follows (pipelines.commands.run.forced): a stage is redone after a stage
    whose output it reads; contamination reads bloom, and dedup only with `exact` (it re-checks hits
    in the corpus); the card reads every stage."""
    from corpus_tools.recipe import Recipe
    from corpus_tools.rundir import RunDir
    from pipelines.commands.run import forced
    from pipelines.stage import StageContext
    from pipelines.stages import STAGES, load_stage

    plain = StageContext(RunDir("unused"), Recipe())
    exact = StageContext(RunDir("unused"), Recipe().replace({"contamination": {"exact": True}}))

    def after(ctx, name):
        return {s for s in STAGES if forced(load_stage(name), ctx, [], {s})}

    assert after(plain, "tokenize") == {"dedup"} and after(plain, "bloom") == {"dedup"}
    assert after(plain, "contamination") == {"bloom"} and after(exact, "contamination") == {"bloom", "dedup"}
    assert after(plain, "datacard") == set(STAGES) - {"datacard"}
    assert after(plain, "links") == set() and after(plain, "fetch") == {"links"}
    assert forced(load_stage("tokenize"), plain, ["tokenize"], set()) and forced(load_stage("links"), plain, ["all"], set())


# ------------------------------------------------------------------ 6. standalone commands and a run's folders
def test_standalone_commands_refuse_a_folder_a_run_owns_and_leave_it_as_it_was(shared_data, tmp_path, capsys):
    """`webtext bloom build --out RUN/bloom` replaced a finished stage's filter in place (no stats, the
    old _SUCCESS kept, the card still describing the 8-gram filter); `webtext bpe train --out
    RUN/tokenizer` the tokenizer the run's shards were made with. Both are refused in one line
    naming the run and the command that redoes the stage in it; an ordinary folder is not refused."""
    lines = [ln for ln in (shared_data / "corpora" / "lee-news-background.txt").read_text().splitlines() if ln.strip()]
    docs = [new_document(id=make_doc_id(f"http://news/{i}", t), url=f"http://news/{i}", text=t)
            for i, t in enumerate(lines[:60])]
    corpus = tmp_path / "docs"
    write_records(sorted(docs, key=lambda d: d["id"]), str(corpus / "part-00000-of-00001.parquet"))
    run = tmp_path / "run"
    recipe = tmp_path / "r.toml"
    recipe.write_text("[bloom]\nself_check_queries = 0\n[tokenize]\nvocab_size = 600\n")
    assert main(["run", "--input", str(corpus), "--out", str(run), "--recipe", str(recipe),
                 "--stages", "bloom"]) == 0
    assert main(["tokenize", "--input", str(corpus), "--out", str(run)]) == 0

    def files(folder):
        return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    before = {name: files(run / name) for name in ("bloom", "tokenizer", "stats")}
    capsys.readouterr()
    assert main(["bloom", "build", "--input", str(corpus), "--out", str(run / "bloom"), "--n", "13"]) == 2
    err = _one_error_line(capsys)
    assert err.startswith(f"webtext bloom build: error: --out {run / 'bloom'} is bloom/ of the run directory {run}")
    assert f"`webtext run --out {run} --recipe RECIPE --force bloom` ([bloom] changed in RECIPE" in err
    assert main(["bpe", "train", "--input", str(corpus), "--out", str(run / "tokenizer"), "--vocab-size", "400"]) == 2
    err = _one_error_line(capsys)
    assert f"is tokenizer/ of the run directory {run}, which its tokenize stage writes" in err
    assert f"`webtext tokenize --out {run} --tokenizer DIR --force tokenize`" in err
    # the other standalone commands with an output path: a run's folder, or a path inside one
    for argv in (["decontaminate", "--input", str(corpus), "--bench", "w=x", "--out", str(run / "dedup")],
                 ["contamination", "report", "--bloom", str(run / "bloom"), "--bench", "w=x",
                  "--out", str(run / "contamination")],
                 ["quality", "train", "--positive", "x", "--negative", "y", "--out", str(run / "filtered" / "q.bin")],
                 ["export", str(tmp_path / "ckpt"), str(run / "tokens" / "hf")]):
        assert main(argv) == 2, argv
        assert f"of the run directory {run}" in _one_error_line(capsys), argv
    assert {name: files(run / name) for name in before} == before
    assert not (run / "dedup").exists() and not (run / "contamination").exists()

    # a folder of the same name outside a run directory is an ordinary output folder
    assert main(["bloom", "build", "--input", str(corpus), "--out", str(tmp_path / "bloom"), "--n", "13",
                 "--self-check", "0"]) == 0
    assert main(["bpe", "train", "--input", str(corpus), "--out", str(tmp_path / "tokenizer"),
                 "--vocab-size", "400"]) == 0
    assert (tmp_path / "bloom" / "bloom.json").exists() and (tmp_path / "tokenizer" / "vocab.json").exists()


def test_contamination_without_a_bloom_filter_is_refused_before_any_stage_runs(shared_data, tmp_path, capsys):
    """Contamination has no single upstream: it reads RUN/bloom (and with `exact` the corpus). Selected
    after dedup in a run whose bloom never ran, it was found after dedup had run; now one line up front.
    Without benchmarks it reads nothing, and is not refused."""
    corpus = _news_corpus(shared_data, tmp_path / "docs")
    bench = tmp_path / "news.txt"
    bench.write_text("\n".join(_news(shared_data)[:3]) + "\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[contamination]\nbenchmarks = ["news={bench}"]\n')
    run = tmp_path / "run"
    assert main(["run", "--input", str(corpus), "--out", str(run), "--recipe", str(recipe),
                 "--stages", "dedup,contamination"]) == 2
    assert _one_error_line(capsys) == (
        f"webtext run: error: --stages dedup,contamination: contamination reads the output of bloom, which is "
        f"neither among them nor done in {run}; add bloom to --stages")
    assert not (run / "dedup").exists()
    plain = tmp_path / "plain"
    assert main(["run", "--input", str(corpus), "--out", str(plain), "--stages", "dedup,contamination"]) == 0
    assert json.loads((plain / "stats" / "contamination.json").read_text())["details"]["configured"] is False
