"""The command-line contract (docs/architecture.md, 'The command line'), checked as a user meets it:
bad input is one line and exit status 2, remote paths are understood, outputs land where the
docs say, and the run directory's stats follow the stats contract."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from corpus_tools.rundir import RunDir
from corpus_tools.schema import make_doc_id, new_document
from corpus_tools.shards import write_records
from pipelines.webtext import _remote_paths, main

STATS_KEYS = {"stage", "records_in", "records_out", "reasons", "counters", "details", "parameters", "inputs",
              "outputs", "execution_id", "input_executions", "started_at", "finished_at", "elapsed_s", "versions"}


def _one_error_line(capsys, command: str) -> str:
    """The one error line; a stage's own progress line ("[filter] running") may come before it."""
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not (ln.startswith("[") and ln.endswith("] running"))]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert lines[0].startswith(f"webtext {command}") and "error:" in lines[0] and "Traceback" not in err
    return lines[0]


def _doc(url: str, text: str) -> dict:
    return new_document(id=make_doc_id(url, text), url=url, domain=url.split("/")[2], text=text, language="en")


@pytest.fixture()
def bad_files(tmp_path):
    (tmp_path / "corrupt.parquet").write_text("this is not parquet\n")
    (tmp_path / "docs.jsonl").write_text(json.dumps({"text": "a document as JSONL"}) + "\n")
    (tmp_path / "bench.jsonl").write_text(json.dumps({"text": "one two three four five"}) + "\n")
    return tmp_path


# --------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("argv", [
    ["train", "--data", "d", "--out", "o", "--model", "huge"],      # bad choice (train's usage is ~20 lines)
    ["bloom", "build", "--input", "docs"],                          # missing --out
    ["sample", "--ckpt", "c", "--prompt", "p", "--top-k", "many"],  # not an int
    ["bpe", "encode", "--tokenizer", "t", "--no-such-flag"],        # unknown flag, non-Beam command
    ["quality"],                                                    # missing subcommand
    ["datacard"],                                                   # missing RUN
    ["no-such-command"],
])
def test_usage_errors_are_one_line_with_exit_status_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "error:" in err and "--help" in err and not err.startswith("usage:")


@pytest.mark.parametrize("argv, flag, suggestion", [
    (["links", "--out", "o", "--input", "i", "--recipee", "x.toml"], "--recipee", "--recipe"),  # ours, misspelt
    (["extract", "--out", "o", "--direct_num_workerz=2"], "--direct_num_workerz", "--direct_num_workers"),  # Beam's
    (["bloom", "build", "--input", "d", "--out", "b", "--fpr-x", "3"], "--fpr-x", "--fpr"),  # a sub-command's
])
def test_a_flag_neither_webtext_nor_beam_knows_is_refused_with_a_suggestion(argv, flag, suggestion, capsys):
    # Beam alone would log "Discarding unparseable args" and the run would go on with defaults.
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"unrecognized arguments: {flag} (did you mean" in err
    assert f"(did you mean {suggestion}?)" in err


def test_a_flag_like_no_other_gets_no_suggestion(capsys):
    with pytest.raises(SystemExit) as e:
        main(["extract", "--out", "o", "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("webtext extract: error: unrecognized arguments: --bogus") and "did you mean" not in err, err


@pytest.mark.parametrize("argv, command", [
    (["datacard", "some-run", "--bogus"], "datacard"),                                  # no Beam flags
    (["tokenize", "--out", "o", "--bogus"], "tokenize"),                                # no Beam flags
    (["bpe", "encode", "--tokenizer", "t", "--bogus"], "bpe encode"),                   # a sub-command's
    (["extract", "--out", "o", "--bogus"], "extract"),                                  # Beam-backed, run here
    (["extract", "--out", "o", "--runner", "DirectRunner", "stray"], "extract"),        # not a --flag
])
def test_a_usage_error_after_the_command_names_the_command(argv, command, capsys):
    # as argparse does for the command's own errors (a missing RUN: "webtext datacard: error: ...")
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"webtext {command}: error: "), err
    assert err.endswith(f"(see 'webtext {command} --help')"), err


def test_an_input_error_of_a_sub_command_names_the_sub_command(tmp_path, capsys):
    # usage errors already named it; the errors a command raises on its inputs now do too
    assert main(["contamination", "report", "--bloom", str(tmp_path), "--bench", "x=y.jsonl", "--out",
                 str(tmp_path / "r")]) == 2
    assert _one_error_line(capsys, "contamination report").startswith(
        f"webtext contamination report: error: {tmp_path}: no bloom.json")
    assert main(["bpe", "encode", "--tokenizer", str(tmp_path / "none")]) == 2
    assert _one_error_line(capsys, "bpe encode").startswith("webtext bpe encode: error: ")


def test_bpe_encode_says_a_tokenizer_file_is_not_a_folder_and_documents_backend(shared_data, capsys):
    encoder_json = shared_data / "gpt2-bpe" / "encoder.json"
    assert main(["bpe", "encode", "--tokenizer", str(encoder_json)]) == 2
    err = _one_error_line(capsys, "bpe encode")
    assert f"--tokenizer {encoder_json}: is a file, not a tokenizer folder" in err and "not found" not in err
    assert "give the folder that holds vocab.json and merges.txt, or GPT-2's encoder.json and vocab.bpe" in err
    with pytest.raises(SystemExit):
        main(["bpe", "encode", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--backend {auto,tiktoken,hf} encoder: tiktoken" in out and "(default: auto)" in out


def test_help_still_prints_usage_and_exits_0(capsys):
    with pytest.raises(SystemExit) as e:
        main(["decontaminate", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: webtext decontaminate") and "--run RUN" in out


# --------------------------------------------------------------------------- remote paths
def test_remote_paths_are_found_in_arguments():
    argv = ["filter", "--out", "gs://b/run", "--input", "s3://b/docs/", "local/docs", "--bench",
            "wiki=gs://b/w.jsonl:text", "--temp_location=gs://b/tmp", "https://example.com/x", "file:///tmp/x"]
    assert _remote_paths(argv) == ["gs://b/run", "s3://b/docs/", "gs://b/w.jsonl:text", "gs://b/tmp"]
    assert _remote_paths(["sample", "--ckpt", "gs://b/ck", "--prompt", "s3://not/a/path"]) == ["gs://b/ck"]
    assert _remote_paths(["sample", "--prompt=gs://text", "--ckpt", "c"]) == []
    # a runner's endpoint is a URL but no file system's (docs/dataflow.md's Spark command)
    assert _remote_paths(["run", "--runner", "SparkRunner", "--spark_master_url", "spark://spark-master:7077",
                          "--flink_master=localhost:8081", "--out", "hdfs://nn/run"]) == ["hdfs://nn/run"]


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed here")
@pytest.mark.parametrize("argv", [
    ["datacard", "gs://some-bucket/run"],
    ["filter", "--out", "gs://some-bucket/run", "--input", "gs://some-bucket/docs"],
    ["decontaminate", "--input", "gs://some-bucket/docs", "--bench", "a=gs://some-bucket/a.jsonl",
     "--out", "gs://some-bucket/out"],
    ["bpe", "train", "--input", "gs://some-bucket/docs", "--out", "gs://some-bucket/tok"],
])
def test_remote_path_without_its_file_system_is_one_line(argv, capsys):
    assert main(argv) == 2
    line = _one_error_line(capsys, argv[0])
    assert "gs://some-bucket/" in line and "webtext[gcp]" in line


# --------------------------------------------------------------------------- bad inputs
def test_corrupt_parquet_input_is_one_line_before_any_pipeline(bad_files, capsys):
    corrupt = str(bad_files / "corrupt.parquet")
    for argv in (["dedup", "--out", str(bad_files / "run"), "--input", corrupt],
                 ["tokenize", "--out", str(bad_files / "run"), "--input", corrupt],
                 ["bloom", "build", "--input", corrupt, "--out", str(bad_files / "bloom")]):
        assert main(argv) == 2, argv
        assert "is not a readable Parquet file" in _one_error_line(capsys, argv[0])
    assert not (bad_files / "bloom").exists()
    assert not (bad_files / "run").exists()  # a command refused on its inputs leaves no run folder (no recipe.toml)


def test_jsonl_given_to_a_document_stage_is_an_error_not_an_empty_corpus(bad_files, capsys):
    run = bad_files / "run"
    # named outright, the file is read as what the stage reads, so refused as not Parquet (a folder or
    # glob holding only it: no Parquet document files in it)
    assert main(["filter", "--out", str(run), "--input", str(bad_files / "docs.jsonl")]) == 2
    assert f"{bad_files / 'docs.jsonl'} is not a readable Parquet file" in _one_error_line(capsys, "filter")
    assert not RunDir(run).is_done("filter")
    assert main(["filter", "--out", str(run), "--input", str(bad_files / "*.jsonl")]) == 2
    assert "no Parquet document files" in _one_error_line(capsys, "filter")
    assert not RunDir(run).is_done("filter")


def _no_rules_recipe(tmp_path) -> str:
    path = tmp_path / "keep-all.toml"
    path.write_text("[filter]\nlanguages = []\nmin_language_score = 0.0\nrules = []\n")
    return str(path)


def test_a_parquet_file_named_outright_is_read_whatever_its_suffix(tmp_path, capsys):
    # decontaminate listed such a file (and checked it) but its reader kept only *.parquet names, so it
    # was skipped in silence; every document stage now reads a file it is given by name
    import pandas as pd

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docs = [_doc(f"https://e.org/{i}", f"document {i} " * 20) for i in range(3)]
    write_records(docs[:2], str(corpus / "part-0.parquet"))
    write_records(docs[2:], str(corpus / "extra.pq"))
    run = tmp_path / "run"
    assert main(["filter", "--out", str(run), "--input", str(corpus / "part-0.parquet"), str(corpus / "extra.pq"),
                 "--recipe", _no_rules_recipe(tmp_path)]) == 0
    kept = pd.read_parquet(run / "filtered")
    assert sorted(kept["id"]) == sorted(d["id"] for d in docs)
    capsys.readouterr()
    assert main(["filter", "--out", str(tmp_path / "run2"), "--input", str(corpus),
                 "--recipe", _no_rules_recipe(tmp_path)]) == 0  # of a folder, *.parquet only
    assert sorted(pd.read_parquet(tmp_path / "run2" / "filtered")["id"]) == sorted(d["id"] for d in docs[:2])


def test_decontaminate_refuses_files_that_are_not_parquet(bad_files, capsys):
    for name in ("docs.jsonl", "corrupt.parquet"):
        assert main(["decontaminate", "--input", str(bad_files / name), "--bench", f"b={bad_files / 'bench.jsonl'}",
                     "--out", str(bad_files / "out")]) == 2
        assert f"{name} is not a readable Parquet file" in _one_error_line(capsys, "decontaminate")


def test_an_out_path_that_cannot_be_a_folder_is_one_line(shared_data, tmp_path, capsys):
    # --out naming a file, or a folder under a file: the OS error's path and cause, not a traceback
    # (also where Beam's FileSystems wrap it in a bare IOError, as `bloom build` meets it).
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    docs = tmp_path / "docs"
    write_records([_doc("https://a.example/1", "one two three four five six seven eight nine ten")],
                  str(docs / "part-00000-of-00001.parquet"))
    dump = str(shared_data / "reddit" / "RS_v2_2005-06.xz")
    for argv, words in ((["links", "--out", str(a_file), "--input", dump], f"{a_file}: file exists"),
                        (["links", "--out", str(a_file / "run"), "--input", dump], f"{a_file / 'run'}: not a directory"),
                        (["bloom", "build", "--input", str(docs), "--out", str(a_file / "b")],
                         f"{a_file / 'b'}: not a directory")):
        assert main(argv) == 2, argv
        assert words in _one_error_line(capsys, argv[0])
    assert a_file.read_text() == "x"


def test_runner_options_beam_finds_invalid_are_one_line(tmp_path, capsys):
    # docs/dataflow.md: `--runner DataflowRunner` takes gs:// temp and staging locations; Beam checks
    # them when the pipeline is made and raised a ValueError traceback ("A traceback means a bug").
    # Nothing is submitted: Beam's check fails before any runner runs. With Google's storage client
    # installed Beam would try to create a default bucket for the bad locations (a network call).
    try:
        import google.cloud.storage  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("google-cloud-storage is installed: Beam would try to reach GCS for a default bucket")
    docs = tmp_path / "docs"
    write_records([_doc("https://a.example/1", "one two three four five six seven eight nine ten")],
                  str(docs / "part-00000-of-00001.parquet"))
    argv = ["filter", "--out", str(tmp_path / "run"), "--input", str(docs), "--runner", "DataflowRunner",
            "--project", "my-project", "--region", "us-central1",
            "--temp_location", str(tmp_path / "tmp"), "--staging_location", str(tmp_path / "staging")]
    assert main(argv) == 2
    line = _one_error_line(capsys, "filter")
    assert "DataflowRunner" in line and "temp_location" in line and "staging_location" in line
    assert not (tmp_path / "run").exists()  # refused before anything ran: no run folder, no recipe.toml


def test_bloom_check_on_a_truncated_partition_is_one_line(tmp_path, capsys):
    docs = tmp_path / "docs"
    write_records([_doc(f"https://a.example/{i}", f"document {i} " + "word " * 50) for i in range(20)],
                  str(docs / "part-00000-of-00001.parquet"))
    bloom = tmp_path / "bloom"
    assert main(["bloom", "build", "--input", str(docs), "--out", str(bloom), "--self-check", "0"]) == 0
    part = next(bloom.glob("*.bloom"))
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    capsys.readouterr()
    assert main(["bloom", "check", "--bloom", str(bloom), "--queries", "100"]) == 2
    assert f"{part}: not a usable Bloom filter" in _one_error_line(capsys, "bloom")


def test_bad_checkpoints_are_one_line(tmp_path, capsys):
    import torch

    (tmp_path / "garbage.pt").write_bytes(b"\x80\x04not a checkpoint at all" * 10)
    full = tmp_path / "full.pt"
    torch.save({"format": "x", "w": torch.zeros(100_000)}, full)
    (tmp_path / "truncated.pt").write_bytes(full.read_bytes()[:200])
    (tmp_path / "cut_at_10k.pt").write_bytes(full.read_bytes()[:10_000])  # torch.load: OSError, not RuntimeError
    for name, words in (("garbage.pt", "not a webtext checkpoint"), ("truncated.pt", "not a readable checkpoint"),
                        ("cut_at_10k.pt", "not a readable checkpoint"), ("full.pt", "not a webtext checkpoint")):
        assert main(["sample", "--ckpt", str(tmp_path / name), "--prompt", "hi"]) == 2
        assert words in _one_error_line(capsys, "sample")


def test_tokenize_with_a_missing_tokenizer_folder_leaves_the_run_recipe_alone(bad_files, capsys):
    run = RunDir(bad_files / "run")
    assert main(["tokenize", "--out", run.root, "--input", str(bad_files / "docs.jsonl"),
                 "--tokenizer", str(bad_files / "no-such-tokenizer")]) == 2
    assert "no such folder" in _one_error_line(capsys, "tokenize")
    assert not run.exists(run.recipe_path)


def test_a_stage_refused_on_its_inputs_leaves_the_run_as_it_was(shared_data, tmp_path, capsys):
    # A new RUN: no folder at all. An existing RUN: its recipe.toml unchanged, even when the refused
    # command came with another recipe.
    new = tmp_path / "new"
    assert main(["links", "--out", str(new)]) == 2
    assert "needs Reddit submission dumps" in _one_error_line(capsys, "links")
    assert main(["extract", "--out", str(new)]) == 2
    assert "has not run" in _one_error_line(capsys, "extract")
    assert not new.exists()
    run = tmp_path / "run"
    assert main(["links", "--out", str(run), "--input", str(shared_data / "reddit" / "RS_v2_2005-06.xz")]) == 0
    recipe = (run / "recipe.toml").read_text()
    other = tmp_path / "other.toml"
    other.write_text("[fetch]\ndelay_s = 9.0\n")
    capsys.readouterr()
    assert main(["fetch", "--out", str(run), "--input", str(tmp_path / "no-such-links"), "--recipe", str(other)]) == 2
    _one_error_line(capsys, "fetch")
    assert (run / "recipe.toml").read_text() == recipe and "delay_s = 1.0" in recipe
    assert sorted(p.name for p in run.iterdir()) == ["links", "recipe.toml", "stats"]


def test_a_stage_that_lets_nothing_through_is_done_with_a_warning(tmp_path, capsys):
    docs = tmp_path / "docs"
    write_records([_doc(f"https://a.example/{i}", "too short") for i in range(3)],
                  str(docs / "part-00000-of-00001.parquet"))
    run = tmp_path / "run"
    assert main(["filter", "--out", str(run), "--input", str(docs)]) == 0
    err = capsys.readouterr().err
    assert "[filter] warning: nothing came out of 3 records in" in err
    assert RunDir(run).is_done("filter")
    assert main(["dedup", "--out", str(run), "--input", str(docs)]) == 0
    assert "warning" not in capsys.readouterr().err  # dedup keeps one of the three (exact duplicates)


def test_run_records_its_inputs_and_refuses_other_inputs_for_a_finished_stage(shared_data, tmp_path, capsys):
    june, july = (str(shared_data / "reddit" / f"RS_v2_2005-0{m}.xz") for m in (6, 7))
    run = tmp_path / "run"
    assert main(["run", "--out", str(run), "--input", june, "--stages", "links"]) == 0
    assert f'inputs = [\n    "{june}",\n]' in (run / "recipe.toml").read_text()
    capsys.readouterr()
    # no --input: the recorded inputs, the finished stage skipped
    assert main(["run", "--out", str(run), "--stages", "links"]) == 0
    assert "[links] already done" in capsys.readouterr().err
    # other inputs for the finished stage: refused, not silently skipped
    assert main(["run", "--out", str(run), "--input", july, "--stages", "links"]) == 2
    err = _one_error_line(capsys, "run")
    assert f"finished in {run} from other inputs ({june})" in err and "--force links" in err
    assert main(["run", "--out", str(run), "--input", july, "--stages", "links", "--force", "links"]) == 0
    assert json.loads((run / "stats" / "links.json").read_text())["inputs"] == [july]


def test_datacard_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    assert main(["datacard", str(folder)]) == 2
    assert "not a run directory" in _one_error_line(capsys, "datacard")
    assert sorted(os.listdir(folder)) == ["cat.jpg"]


# --------------------------------------------------------------------------- stats and outputs
def test_stats_record_the_previous_stage_folder_as_inputs(tmp_path):
    from corpus_tools.recipe import Recipe
    from pipelines.stage import Stage, StageContext, StageResult, execute_stage

    class Reader(Stage):
        name = "filter"
        sections = ("filter",)

        def run(self, ctx):
            ctx.input_or(previous="extract")
            return StageResult(records_in=0, records_out=0, reasons={})

    run = RunDir(tmp_path / "run")
    run.mark_done("extract")
    stats = execute_stage(Reader(), StageContext(run, Recipe(), log=lambda m: None))
    assert stats["inputs"] == [str(tmp_path / "run" / "docs")]
    assert STATS_KEYS <= set(json.loads(open(run.stats_path("filter")).read()))
    given = StageContext(run, Recipe(), inputs=["elsewhere/x.parquet"], log=lambda m: None)
    assert execute_stage(Reader(), given, force=True)["inputs"] == ["elsewhere/x.parquet"]


def test_train_data_accepts_the_run_directory(tmp_path):
    from pipelines.commands.train import tokens_dir

    run = tmp_path / "run"
    (run / "tokens").mkdir(parents=True)
    assert tokens_dir(str(run)) == str(run)  # no shards anywhere: left as given, train says so
    for name in ("part_val_000000.bin", "part_train_000001.bin"):
        (run / "tokens" / name).write_bytes(b"")
    assert tokens_dir(str(run)) == str(run / "tokens")
    assert tokens_dir(str(run / "tokens")) == str(run / "tokens")


def test_tokenize_help_and_architecture_doc_state_the_out_deviation(capsys):
    with pytest.raises(SystemExit):
        main(["tokenize", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--out RUN" in out and "RUN/tokens" in out and "Deviation from the design" in out
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "architecture.md"), encoding="utf-8").read()
    section = doc.split("## Deviations from the design", 1)[1]
    assert "webtext tokenize --out RUN" in section and "TOKENS_DIR/tokens/" in section


# --------------------------------------------------------------------------- decontamination in the card
def _words(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_decontaminate_records_into_the_run_and_the_card_shows_it(tmp_path, capsys):
    # 5 documents; one holds a 20-word test-set passage between two 600+-character fillers, so the
    # GPT-3 cut (the colliding 13-grams plus 200 characters either side) leaves two pieces >= 200 chars.
    passage = _words("bench", 20)
    planted = _words("before", 120) + " " + passage + " " + _words("after", 120)
    assert len(_words("before", 120)) > 600 and len(_words("after", 120)) > 600
    docs = [_doc("https://a.example/planted", planted)]
    docs += [_doc(f"https://b.example/{i}", _words(f"clean{i}x", 80)) for i in range(4)]
    corpus = tmp_path / "corpus"
    write_records(docs, str(corpus / "part-00000-of-00001.parquet"))
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"text": passage}) + "\n" + json.dumps({"text": _words("unseen", 30)}) + "\n")

    run_dir = tmp_path / "run"
    run = RunDir(run_dir)
    from corpus_tools.recipe import Recipe

    run.write_text(run.recipe_path, Recipe().to_toml())
    out = tmp_path / "decontaminated"
    assert main(["decontaminate", "--input", str(corpus), "--bench", f"mybench={bench}", "--out", str(out),
                 "--run", str(run_dir)]) == 0
    capsys.readouterr()
    stats = json.loads((run_dir / "stats" / "decontaminate.json").read_text())
    assert STATS_KEYS <= set(stats) and stats["stage"] == "decontaminate"
    # expected from the construction: 5 in, 4 untouched, 1 cut into 2 pieces, nothing dropped
    assert stats["records_in"] == 5 and stats["records_out"] == 4 + 2 and stats["reasons"] == {}
    assert stats["details"]["documents_split"] == 1 and stats["details"]["pieces_out"] == 2
    assert stats["details"]["benchmark_ngrams"] == (20 - 13 + 1) + (30 - 13 + 1)
    assert stats["details"]["ngrams_colliding"] == 20 - 13 + 1
    assert stats["inputs"] == [str(corpus)] and stats["outputs"]["docs"] == str(out)
    assert "n" not in stats["counters"] and stats["counters"]["documents_in"] == 5

    assert main(["datacard", str(run_dir)]) == 0
    data = json.loads((run_dir / "card" / "datacard.json").read_text())
    dec = data["decontamination"]
    assert dec["status"] == "measured" and dec["documents_in"] == 5 and dec["documents_out"] == 6
    assert dec["benchmarks"] == ["mybench"] and dec["output"] == str(out)
    assert data["stages"]["decontaminate"]["records_in"] == 5
    readme = (run_dir / "card" / "README.md").read_text()
    section = readme.split("#### Decontamination", 1)[1].split("###", 1)[0]
    assert "mybench" in section and "| documents cut | 1 |" in section
    assert "| documents out (untouched + pieces) | 6 |" in section
    assert "| pieces kept (new documents) | 2 |" in section

    # flags left unset follow the run's recipe: a 900-character window leaves no piece >= 200 (the
    # fillers are 1089 and 969 characters)
    run.write_text(run.recipe_path, Recipe().replace({"contamination": {"decontaminate_window": 900}}).to_toml())
    assert main(["decontaminate", "--input", str(corpus), "--bench", f"mybench={bench}", "--out",
                 str(tmp_path / "wide"), "--run", str(run_dir)]) == 0
    stats = json.loads((run_dir / "stats" / "decontaminate.json").read_text())
    assert stats["parameters"]["contamination"]["decontaminate_window"] == 900
    assert stats["reasons"] == {"all_pieces_short": 1} and stats["records_out"] == 4
    # ... and a flag still wins over the recipe
    assert main(["decontaminate", "--input", str(corpus), "--bench", f"mybench={bench}", "--out",
                 str(tmp_path / "narrow"), "--run", str(run_dir), "--window", "200"]) == 0
    assert json.loads((run_dir / "stats" / "decontaminate.json").read_text())["records_out"] == 6


def test_decontaminate_stats_name_the_execution_of_the_run_output_they_read(tmp_path, capsys):
    # docs/architecture.md: every stats file has an execution_id and the input_executions of the run
    # outputs it read; decontaminate's --run stats were missing both.
    docs = [_doc(f"https://b.example/{i}", _words(f"doc{i}x", 40)) for i in range(3)]
    corpus = tmp_path / "corpus"
    write_records(docs, str(corpus / "part-00000-of-00001.parquet"))
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"text": _words("doc1x", 20)}) + "\n")
    run_dir = tmp_path / "run"
    assert main(["dedup", "--out", str(run_dir), "--input", str(corpus)]) == 0
    dedup_id = json.loads((run_dir / "stats" / "dedup.json").read_text())["execution_id"]
    for n, given in enumerate((str(run_dir / "dedup"), str(run_dir / "dedup") + "/*.parquet", str(corpus))):
        assert main(["decontaminate", "--input", given, "--bench", f"b={bench}", "--out", str(tmp_path / f"out{n}"),
                     "--run", str(run_dir)]) == 0
        stats = json.loads((run_dir / "stats" / "decontaminate.json").read_text())
        assert STATS_KEYS <= set(stats), STATS_KEYS - set(stats)
        assert len(stats["execution_id"]) == 32 and stats["execution_id"] != dedup_id
        assert stats["input_executions"] == ({} if given == str(corpus) else {"dedup": dedup_id}), given
    capsys.readouterr()


def test_card_shows_the_records_decontaminate_rejected_also_from_an_old_run(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus_tools.datacard import write_datacard
    from corpus_tools.recipe import Recipe
    from corpus_tools.schema import DOC_SCHEMA

    corpus = tmp_path / "corpus"
    write_records([_doc(f"https://b.example/{i}", _words(f"clean{i}x", 80)) for i in range(2)],
                  str(corpus / "part-00000-of-00002.parquet"))
    loose = pa.schema([f.with_nullable(True) for f in DOC_SCHEMA])  # another tool's file: text may be null
    pq.write_table(pa.Table.from_pylist([dict(_doc("https://c.example/", "x"), text=None)], schema=loose),
                   str(corpus / "part-00001-of-00002.parquet"))
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"text": _words("unseen", 30)}) + "\n")
    run = RunDir(tmp_path / "run")
    run.write_text(run.recipe_path, Recipe().to_toml())
    assert main(["decontaminate", "--input", str(corpus), "--bench", f"b={bench}", "--out", str(tmp_path / "out"),
                 "--run", str(run.root)]) == 0
    capsys.readouterr()
    stats = json.loads(open(run.stats_path("decontaminate"), encoding="utf-8").read())
    assert stats["records_in"] == 3 and stats["records_out"] == 2 and stats["reasons"] == {"missing_text": 1}
    assert stats["outputs"]["rejected"] == str(tmp_path / "out" / "_rejected")
    row = "| records rejected: not documents (no id or text, a value of the wrong type) | 1 |"
    assert write_datacard(run.root)["decontamination"]["documents_rejected"] == 1
    assert row in open(run.path("card", "README.md"), encoding="utf-8").read()
    # a run recorded before the shared document check counted its rows without text under another key
    details = stats["details"]
    details["documents_dropped_no_text"] = details.pop("documents_rejected")
    del details["rejected"]
    run.write_stats("decontaminate", stats)
    assert write_datacard(run.root)["decontamination"]["documents_rejected"] == 1
    assert row in open(run.path("card", "README.md"), encoding="utf-8").read()


def test_card_says_decontamination_not_run_when_absent(tmp_path):
    from corpus_tools.datacard import write_datacard
    from corpus_tools.recipe import Recipe

    run = RunDir(tmp_path / "run")
    run.write_text(run.recipe_path, Recipe().to_toml())
    data = write_datacard(run.root)
    assert data["decontamination"] == {"status": "not run"}
    readme = open(run.path("card", "README.md"), encoding="utf-8").read()
    assert "Decontamination (`webtext decontaminate --run RUN`): not run" in readme.split("#### Decontamination", 1)[1]


# --------------------------------------------------------------------------- bad flag values
@pytest.mark.parametrize("argv, words", [
    (["quality", "train", "--positive", "p.txt", "--negative", "n.txt", "--out", "q.bin", "--val-fraction", "2"],
     "--val-fraction"),
    (["quality", "train", "--positive", "p.txt", "--negative", "n.txt", "--out", "q.bin", "--chunk-lines", "0"],
     "--chunk-lines"),
    (["bpe", "train", "--input", "t.txt", "--out", "tok", "--min-frequency", "-1"], "--min-frequency"),
    (["bloom", "check", "--bloom", "b", "--queries", "-5"], "--queries"),
    (["bloom", "build", "--input", "d", "--out", "b", "--capacity", "-3"], "--capacity"),
    (["sample", "--ckpt", "c", "--prompt", "p", "--num-samples", "0"], "--num-samples"),
    (["sample", "--ckpt", "c", "--prompt", "p", "--device", "tpu"], "--device"),
    (["run", "--out", "RUN", "--force", "dedupe"], "--force 'dedupe'"),
])
def test_bad_flag_values_are_one_line(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths above: nothing exists, nothing may be written
    (tmp_path / "t.txt").write_text("some text\n")
    assert main(argv) == 2
    assert words in _one_error_line(capsys, argv[0])
    assert sorted(os.listdir(tmp_path)) == ["t.txt"]


def test_unreadable_benchmark_file_is_one_line(bad_files, capsys):
    docs = bad_files / "docs"
    write_records([_doc("https://a.example/1", _words("w", 50))], str(docs / "part-00000-of-00001.parquet"))
    assert main(["decontaminate", "--input", str(docs), "--bench", f"b={bad_files / 'corrupt.parquet'}",
                 "--out", str(bad_files / "out")]) == 2
    assert "benchmark b:" in _one_error_line(capsys, "decontaminate")


def test_output_piped_into_head_stops_quietly(shared_data, tmp_path):
    import subprocess
    import sys

    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"line {i}\n" for i in range(40_000)))  # far more output than a pipe buffer
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.webtext", "bpe", "encode", "--tokenizer",
                             str(shared_data / "gpt2-bpe"), "--input", str(lines)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    ids = json.loads(first)
    assert ids and all(isinstance(i, int) for i in ids)  # the first line came through whole
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_ctrl_c_stops_with_one_line_and_status_130(shared_data):
    import signal
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
               PYTHONUNBUFFERED="1")  # so its first line arrives before stdin ends
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.webtext", "bpe", "encode", "--tokenizer",
                             str(shared_data / "gpt2-bpe")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdin.write(b"hello world\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == [31373, 995]  # GPT-2's ids (shared data README); it is running
    proc.send_signal(signal.SIGINT)  # while it waits for more input
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 130
    assert err.strip() == "webtext bpe encode: interrupted"  # the sub-command, as usage errors name it


def test_run_directory_layout_and_stats_contract_on_real_warc(shared_data, tmp_path):
    """`webtext run` on the real Common Crawl excerpt: every stage's stats have the documented keys,
    say what they read, and the outputs are where docs/architecture.md puts them."""
    recipe = tmp_path / "webtext.toml"
    recipe.write_text(f'[tokenize]\ntokenizer = "{shared_data / "gpt2-bpe"}"\nval_fraction = 0.5\n'
                      '[filter]\nlanguages = []\nrules = []\n')  # keep every page: the excerpt is mostly zh
    root = tmp_path / "run"
    warc = str(shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz")
    stages = ["extract", "filter", "dedup", "bloom", "tokenize", "datacard"]
    assert main(["run", "--recipe", str(recipe), "--input", warc, "--out", str(root),
                 "--stages", ",".join(stages)]) == 0
    run = RunDir(root)
    reads = {"extract": [warc], "filter": [str(root / "docs")], "dedup": [str(root / "filtered")],
             "bloom": [str(root / "dedup")], "tokenize": [str(root / "dedup")], "datacard": []}
    for stage in stages:
        stats = run.read_stats(stage)
        assert STATS_KEYS <= set(stats), (stage, STATS_KEYS - set(stats))
        assert stats["stage"] == stage and stats["inputs"] == reads[stage], stage
        assert (root / {"extract": "docs", "filter": "filtered", "tokenize": "tokens", "datacard": "card"}
                .get(stage, stage) / "_SUCCESS").exists(), stage
    assert sorted(p.name for p in (root / "tokenizer").iterdir()) == ["merges.txt", "tokenizer.json", "vocab.json"]
    assert len(list((root / "tokens").glob("*.bin"))) >= 2 and (root / "card" / "README.md").exists()
    assert list((root / "bloom").glob("*.bloom")) and list((root / "dedup").glob("part-*-of-*.parquet"))
