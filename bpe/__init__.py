"""Byte-level BPE as GPT-2 defines it, and llm.c token shards.

* :mod:`bpe.byte_level` — the bytes-to-unicode alphabet and GPT-2's pre-tokenizer pattern;
* :mod:`bpe.trainer` — training with HF ``tokenizers``, streamed, GPT-2's id layout;
* :mod:`bpe.tokenizer_files` — vocab.json / merges.txt / tokenizer.json (GPT-2's
  encoder.json / vocab.bpe too);
* :mod:`bpe.encoder` — GPT-2-exact encoding (tiktoken built offline, or HF), bytes-safe;
* :mod:`bpe.text_source` — documents streamed from Parquet, JSONL, text, MediaWiki dumps;
* :mod:`bpe.tokenize_docs` — documents → shards with a seeded validation split;
* :mod:`bpe.shards` — the llm.c shard format: writer and validating memmap reader;
* :mod:`bpe.shard_text` — shards back to text (``webtext bpe decode``).
"""
