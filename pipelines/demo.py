"""``make demo``: the whole job, offline, on a site built from text that ships with Python.

1. builds a small web site (Python's own documentation prose in realistic page boilerplate, plus
   near-duplicate, copied, spam, non-English and thin pages) and serves it on 127.0.0.1;
2. writes a Pushshift-format dump (``RS_*.zst``) whose submissions link to it — with karma
   below and above 3, NSFW and self posts, Wikipedia, image and non-page links;
3. trains a GPT-3-style quality classifier and writes a small benchmark test set;
4. runs ``webtext run``: links → fetch → extract → filter → dedup → bloom → contamination →
   tokenize → datacard;
5. trains a tiny GPT-2 on the token shards for a few CPU steps and samples a line from it;
6. prints where everything is.

Usage: ``python -m pipelines.demo [--out demo-out] [--seed 0] [beam flags]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import tomli_w

from corpus_tools.demo_site import (benchmark_examples, build_site, quality_training_texts, reddit_posts, serve,
                                    write_pushshift_dump)
from corpus_tools.rundir import RunDir
from pipelines import webtext


def _step(msg: str) -> None:
    print(f"\n=== demo: {msg}", flush=True)


def _call(args: list[str]) -> None:
    print("$ webtext " + " ".join(args), flush=True)
    rc = webtext.main(args)
    if rc != 0:
        raise SystemExit(f"demo: `webtext {args[0]}` failed with exit status {rc}")


def demo_recipe(inputs: str, quality_model: str, bench: str, seed: int) -> dict:
    """The demo's recipe: the defaults, made small and fast where a 2-core laptop needs it."""
    return {
        "run": {"name": "webtext-demo", "seed": seed, "num_shards": 2},
        "fetch": {"allow_networks": ["127.0.0.0/8"], "delay_s": 0.02, "threads": 8, "host_groups": 2,
                  "timeout_s": 10.0, "connect_timeout_s": 2.0, "max_retries": 1, "backoff_s": 0.1},
        "filter": {"quality_model": quality_model},
        "bloom": {"self_check_queries": 200_000},
        "contamination": {"benchmarks": [f"demo={bench}:text"]},
        "tokenize": {"vocab_size": 2048, "val_fraction": 0.1},
        "train": {"model": "tiny", "steps": 60, "batch_size": 4, "eval_interval": 20, "log_interval": 10},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo-out", help="folder for the demo's inputs and run directory")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--port", type=int, default=8642, help="port for the demo site on 127.0.0.1 (a free one if taken)")
    args, beam_args = ap.parse_known_args(argv)
    t0 = time.time()
    out = os.path.abspath(args.out)
    inputs, run_dir = os.path.join(out, "inputs"), os.path.join(out, "run")
    os.makedirs(inputs, exist_ok=True)

    _step("building the demo site and serving it on 127.0.0.1")
    pages = build_site(seed=args.seed)
    server, base_url = serve(pages, port=args.port)
    try:
        print(f"{len(pages)} pages at {base_url}")
        dump = os.path.join(inputs, "RS_2026-01.zst")
        posts = reddit_posts(pages, base_url, seed=args.seed)
        write_pushshift_dump(dump, posts)
        print(f"{len(posts)} Reddit submissions (+1 line that is not JSON) in {dump}")

        _step("training the GPT-3-style quality classifier")
        pos, neg = quality_training_texts(pages, seed=args.seed)
        qdir = os.path.join(inputs, "quality")
        os.makedirs(qdir, exist_ok=True)
        for name, texts in (("positive.txt", pos), ("negative.txt", neg)):
            with open(os.path.join(qdir, name), "w", encoding="utf-8") as fh:
                fh.write("\n".join(texts) + "\n")
        model = os.path.join(qdir, "quality.bin")
        _call(["quality", "train", "--positive", os.path.join(qdir, "positive.txt"),
               "--negative", os.path.join(qdir, "negative.txt"), "--out", model, "--seed", str(args.seed)])

        bench = os.path.join(inputs, "demo_bench.jsonl")
        with open(bench, "w", encoding="utf-8") as fh:
            for ex in benchmark_examples(pages):
                fh.write(json.dumps(ex) + "\n")
        recipe = os.path.join(inputs, "webtext.toml")
        with open(recipe, "wb") as fh:
            tomli_w.dump(demo_recipe(dump, model, bench, args.seed), fh)

        _step("running the whole pipeline")
        _call(["run", "--recipe", recipe, "--input", dump, "--out", run_dir, *beam_args])
    finally:
        server.shutdown()

    _step("training a tiny GPT-2 on the token shards (CPU)")
    ckpt = os.path.join(run_dir, "model")
    _call(["train", "--data", os.path.join(run_dir, "tokens"), "--out", ckpt, "--recipe", recipe,
           "--device", "cpu"])
    _step("sampling from it")
    _call(["sample", "--ckpt", ckpt, "--prompt", "The if statement", "--max-new-tokens", "30",
           "--temperature", "0.8", "--top-k", "40", "--seed", str(args.seed)])

    _summary(run_dir, ckpt, time.time() - t0)
    return 0


def _summary(run_dir: str, ckpt: str, elapsed: float) -> None:
    run = RunDir(run_dir)
    _step(f"done in {elapsed:.0f}s — the funnel")
    print(f"{'stage':<14}{'in':>8}{'out':>8}  removed (reason: count)")
    for stage in ("links", "fetch", "extract", "filter", "dedup", "bloom", "contamination", "tokenize", "datacard"):
        s = run.read_stats(stage)
        if s is None:
            print(f"{stage:<14}{'not run':>16}")
            continue
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted((s.get("reasons") or {}).items()))
        print(f"{stage:<14}{s.get('records_in') or 0:>8}{s.get('records_out') or 0:>8}  {reasons}")
    print(f"""
where everything is:
  run directory       {run_dir}
  resolved recipe     {run.recipe_path}
  links               {run.stage_dir('links')}
  WARC + fetch log    {run.stage_dir('fetch')}
  documents           {run.stage_dir('extract')}  (dead letters in _rejected/)
  filtered            {run.stage_dir('filter')}  (_removed/<reason>/ the rest)
  final corpus        {run.stage_dir('dedup')}  (_clusters/ the duplicate clusters)
  Bloom filter        {run.stage_dir('bloom')}
  contamination       {run.path('contamination', 'report.md')}
  tokenizer           {run.path('tokenizer')}
  token shards        {run.stage_dir('tokenize')}
  model checkpoint    {ckpt}
  dataset card        {run.path('card', 'README.md')}
  stats               {run.path('stats')}""")


if __name__ == "__main__":
    sys.exit(main())
