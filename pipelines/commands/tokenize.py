"""``webtext tokenize``: documents → llm.c token shards (RUN/tokens), training RUN/tokenizer if asked."""

from __future__ import annotations

from pipelines.stage import add_stage_arguments, execute_stage, make_context
from pipelines.stages import load_stage


def add_parser(sub):
    p = sub.add_parser(
        "tokenize", help="documents → llm.c token shards (RUN/tokens: webtext_val_*.bin, webtext_train_*.bin)",
        description="Encode documents (RUN/dedup, or --input Parquet/JSONL/text) with a byte-level BPE tokenizer "
                    "into llm.c-format shards in RUN/tokens: <|endoftext|> before every document; the validation split, "
                    "chosen by a seeded hash of document ids, is webtext_val_000000.bin (and _000001... when it "
                    "exceeds shard_tokens), training webtext_train_000001.bin onwards; manifest.json says which "
                    "tokenizer made them. With [tokenize] tokenizer = "
                    "\"train\" (the default) a tokenizer is first trained on the same documents into RUN/tokenizer. "
                    "Deviation from the design's `--out TOKENS_DIR`: like every stage command, --out is the run "
                    "directory, so the shards land in RUN/tokens next to RUN/tokenizer and RUN/stats/tokenize.json "
                    "(`webtext train --data RUN/tokens`, or `--data RUN`). See 'Deviations from the design' in "
                    "docs/architecture.md.")
    add_stage_arguments(p, input_help="document shards, JSONL or text files (default: RUN/dedup)")
    p.add_argument("--tokenizer", metavar="DIR",
                   help="tokenizer folder to use instead of the recipe's [tokenize] tokenizer "
                        "(vocab.json+merges.txt, or GPT-2's encoder.json+vocab.bpe)")
    return p


def main(args) -> int:
    from pipelines.commands.bpe import check_tokenizer_folder

    if args.tokenizer:  # a clear error before anything runs (RUN/recipe.toml is only written once the stage runs)
        check_tokenizer_folder(args.tokenizer)
    ctx = make_context(args)
    if args.tokenizer:
        from corpus_tools.recipe import TokenizeConfig, load_recipe

        # The keys that size a trained tokenizer, as RUN/recipe.toml recorded them, described the
        # tokenizer this folder replaces: only this command's --recipe may set them (the stage then
        # refuses values that disagree with the folder), else they go back to their defaults.
        own = load_recipe(args.recipe).tokenize if args.recipe else TokenizeConfig()
        ctx.recipe = ctx.recipe.replace({"tokenize": {"tokenizer": args.tokenizer, "vocab_size": own.vocab_size,
                                                      "extra_special_tokens": own.extra_special_tokens,
                                                      "min_frequency": own.min_frequency}})
    execute_stage(load_stage("tokenize"), ctx, force="tokenize" in args.force or "all" in args.force)
    return 0
