"""The data card on a real (small) run: the extract stage on a real Common Crawl WARC excerpt,
then the datacard stage, both through ``webtext run``."""

from __future__ import annotations

import json

from huggingface_hub import DatasetCard

from corpus_tools.shards import count_rows, iter_texts


def test_card_of_a_real_extract_run(shared_data, tmp_path):
    from pipelines.webtext import main

    warc = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    run = tmp_path / "run"
    assert main(["run", "--input", str(warc), "--out", str(run), "--stages", "extract,datacard"]) == 0

    stats = json.loads((run / "stats" / "extract.json").read_text())
    data = json.loads((run / "card" / "datacard.json").read_text())
    assert data["stages"]["extract"]["records_in"] == stats["records_in"]
    assert data["stages"]["extract"]["records_out"] == stats["records_out"]
    texts = list(iter_texts(str(run / "docs")))
    assert data["corpus"]["source_stage"] == "extract"
    assert data["corpus"]["documents"] == count_rows(str(run / "docs")) == len(texts) > 0
    assert data["corpus"]["words"] == sum(len(t.split()) for t in texts)
    assert data["corpus"]["bytes"] == sum(len(t.encode("utf-8")) for t in texts)
    for stage in ("links", "fetch", "filter", "dedup", "tokenize", "contamination"):
        assert data["stages"][stage]["status"] == "not run"
    row = {r["step"]: r for r in data["funnel"]}["extracted"]
    assert row["count"] == stats["records_out"]

    card = DatasetCard.load(run / "card" / "README.md")
    assert card.data.to_dict()["size_categories"] == ["n<1K"]
    assert f"| documents | {len(texts):,} |" in card.text
    for rel in data["figures"].values():
        assert (run / "card" / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card_stats = json.loads((run / "stats" / "datacard.json").read_text())
    assert card_stats["records_out"] == 1 and card_stats["reasons"]["not_run"] == len(data["stages"]) - 1


def test_card_of_a_real_warc_only_run_with_an_empty_corpus(shared_data, tmp_path):
    """The whole WARC pipeline on the Common Crawl excerpt: its filter keeps no document, and the
    contamination stage runs with no benchmark configured. The card must say so, not describe WebText."""
    from pipelines.webtext import main

    warc = shared_data / "warc" / "cc-main-2020-34-excerpt.warc.gz"
    run = tmp_path / "run"
    assert main(["run", "--input", str(warc), "--out", str(run),
                 "--stages", "extract,filter,dedup,bloom,contamination,tokenize,datacard"]) == 0
    tok = json.loads((run / "stats" / "tokenize.json").read_text())["details"]
    data = json.loads((run / "card" / "datacard.json").read_text())
    assert data["corpus"]["documents"] == 0 and data["contamination"] == {"status": "no benchmark configured"}
    readme = (run / "card" / "README.md").read_text()
    rationale = readme.split("### Curation Rationale\n", 1)[1].split("\n#", 1)[0]
    assert "Reddit" not in rationale and "Common Crawl" in rationale
    assert "human-curated" not in readme and "Fetch outcomes)" not in readme
    assert f"{tok['vocab_size']:,} vocabulary entries" in readme and "vocabulary 50257" not in readme
    assert "| `contamination` | ran (no benchmark configured) |" in readme
    assert "contamination table" not in readme and "measured overlap" not in readme
    for wrong in ("mean None", "mean size None", "Top 0 domains", "under 1 characters"):
        assert wrong not in readme, wrong
    assert "- **Over what timeframe was the data collected?** Not measured: the corpus has no documents" in readme
    # what was measured, not the recipe's settings or papers the run did not follow
    assert "- **Language(s) (NLP):** none measured (the corpus has no documents); the recipe's setting " in readme
    paper = next(ln for ln in readme.splitlines() if ln.startswith("- **Paper:**"))
    assert "WebText" not in paper and "Radford" not in paper and "Brown et al., 2020" in paper
    assert tok["tokens"] == 0 and "Tokenized for language-model training" not in readme
    assert "- **Has the dataset been used for any tasks already?** Not by this run: its tokenize stage ran and " \
           "produced no tokens" in readme


def test_card_of_a_run_whose_fetch_did_not_finish(tmp_path, capsys):
    """A fetch that archived nothing writes its stats but no _SUCCESS: the card says the run is
    incomplete, lists fetch as "did not finish", and claims nothing of what it did not make."""
    from pipelines.webtext import main

    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"http://127.0.0.1:9/page/{i}\n" for i in range(5)))
    run = tmp_path / "run"
    assert main(["fetch", "--out", str(run), "--input", str(urls)]) == 2  # loopback without --allow-network
    assert (run / "stats" / "fetch.json").exists() and not (run / "warc" / "_SUCCESS").exists()
    assert main(["datacard", str(run)]) == 0
    readme = (run / "card" / "README.md").read_text()
    data = json.loads((run / "card" / "datacard.json").read_text())
    assert data["stages"]["fetch"]["status"] == "did not finish"
    banner = readme.split("# Dataset Card for", 1)[1].split("## Dataset Details", 1)[0]
    assert "**This run is incomplete:** `fetch` did not finish" in banner
    assert "| `fetch` | did not finish (no `_SUCCESS`) | 5 | 0 |" in readme
    assert "| **fetched** | did not finish |  |" in readme
    assert "WARC files" not in readme.split("### Is the dataset self-contained?", 1)[-1].split("\n")[0]
    assert "The raw responses are kept in the run's WARC files" not in readme
    assert "2. **fetch** — did not finish" in readme
    assert "pages fetched from" not in readme and ", fetched." not in readme
    stats = json.loads((run / "stats" / "datacard.json").read_text())
    assert stats["reasons"].get("did_not_finish") == 1
    assert stats["input_executions"] == {"fetch": json.loads((run / "stats" / "fetch.json").read_text())["execution_id"]}


def test_card_counts_the_validation_shards_tokenize_wrote(shared_data, tmp_path):
    """With a small [tokenize] shard_tokens the validation split spans several shards: the card says
    how many, as tokens/manifest.json lists them, and names the given tokenizer by its folder's name."""
    from pipelines.webtext import main

    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[tokenize]\ntokenizer = "{shared_data / "gpt2-bpe"}"\nshard_tokens = 300\n')
    run = tmp_path / "run"
    assert main(["run", "--input", str(shared_data / "corpora" / "lee-news-background.txt"), "--out", str(run),
                 "--recipe", str(recipe), "--stages", "tokenize,datacard"]) == 0
    val = sorted(p.name for p in (run / "tokens").glob("*_val_*.bin"))
    train = sorted(p.name for p in (run / "tokens").glob("*_train_*.bin"))
    assert len(val) > 1, val
    readme = (run / "card" / "README.md").read_text()
    splits = next(ln for ln in readme.splitlines() if ln.startswith("- **Are there recommended data splits?**"))
    assert f"The validation split is {len(val)} token shards (`*_val_*.bin`, the first {len(val)})" in splits
    assert f"the training split is {len(train)} token shards" in splits and "shard 0" not in readme
    assert "the given tokenizer `gpt2-bpe`, a local folder outside the run directory" in readme
    assert str(shared_data) not in readme.split("## Reproducibility", 1)[0]
    # nor in the recipe under Reproducibility, which named the tokenizer folder by its full path
    assert str(shared_data) not in readme and str(tmp_path) not in readme
    assert 'tokenizer = "gpt2-bpe"' in readme.split("## Reproducibility", 1)[1]
    # nor in datacard.json, published beside it (the stages' stats and the recipe named paths in full)
    published = (run / "card" / "datacard.json").read_text()
    assert str(shared_data) not in published and str(tmp_path) not in published
    data = json.loads(published)
    assert data["stages"]["tokenize"]["details"]["tokenizer"] == "tokenizer"  # RUN/tokenizer, relative to the run
