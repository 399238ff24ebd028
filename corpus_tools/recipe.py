"""The recipe (``webtext.toml``): typed, validated configuration with every default filled in.

Each ``[section]`` of the TOML file is one dataclass below. A field's type annotation is
enforced; its ``metadata`` may add ``choices``, ``min``/``max`` (inclusive) and ``doc``.
An unknown section or key, a value of the wrong type or range, a string listed twice in a list,
or the low end of a min/max pair (``at_most``) above its high end raises :class:`RecipeError`
naming the key, the value and what is allowed.

To add a parameter to a stage: add a field (with a default and a ``doc``) to that
stage's dataclass. Nothing else needs to change: loading, validation, the resolved
``out/recipe.toml`` and the docs table (``docs/recipe.md``) all follow the dataclass.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import tomli_w

from corpus_tools.langid import check_language
from corpus_tools.netguard import parse_networks
from corpus_tools.pages import HTML_TYPES


class RecipeError(ValueError):
    """A recipe that cannot be used, with a message a user can act on."""


def opt(default: Any, doc: str, *, choices: tuple | None = None, min: float | None = None,
        max: float | None = None, check: Callable[[Any], Any] | None = None, length: int | None = None,
        at_most: str | None = None) -> Any:
    """Declare a recipe field with its default, documentation and constraints (``check``: called on
    each value, raises ``ValueError`` with the reason for a bad one; ``length``: a list must have
    exactly that many values; ``at_most``: another key of the same section this one may not exceed,
    the upper end of a min/max pair, checked on the resolved section, defaults included)."""
    meta = {"doc": doc, "choices": choices, "min": min, "max": max, "check": check, "length": length,
            "at_most": at_most}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- run
@dataclass
class RunConfig:
    name: str = opt("webtext", "Name of the dataset (used in the data card).")
    seed: int = opt(1234, "Seed for every random choice in the run (sampling, splits, init).", min=0)
    num_shards: int = opt(4, "Number of Parquet shards each document stage writes.", min=1, max=100000)
    inputs: list[str] = opt([], "Input paths/globs when --input is not given: Reddit dumps or WARC/WET files. "
                                   "A --recipe that sets none keeps the run's recorded ones.")


# --------------------------------------------------------------------------- links
@dataclass
class LinksConfig:
    min_karma: int = opt(3, "Keep a canonical URL when its score summed over posts is at least this (WebText: 3).")
    keep_nsfw: bool = opt(False, "Keep posts marked over_18.")
    blocked_domains: list[str] = opt([], "Extra domains to drop (a domain blocks its subdomains too).")
    block_lists: list[str] = opt(["wikipedia", "reddit", "media"],
                                 "Built-in domain blocklists to apply (drops counted as blocked_domain:<list>).",
                                 choices=("wikipedia", "reddit", "media"))
    blocked_domain_files: list[str] = opt([], "Text files of domains to drop, one per line (`#` comments; "
                                              "`COUNT DOMAIN` lines allowed); counted as blocked_domain:<file stem>.")
    allow_extensions: list[str] = opt([], "File extensions taken off the built-in non-page list (e.g. [\"pdf\"]).")
    batch_posts: int = opt(100_000, "Link posts a dump reader classifies together (URLs canonicalised in one "
                                    "Arrow pass) before shipping the kept ones as Arrow batches "
                                    "(memory bound; does not change the output).", min=1)
    top_n: int = opt(50, "How many top domains/subreddits stats/links.json lists.", min=1)


# --------------------------------------------------------------------------- fetch
@dataclass
class FetchConfig:
    user_agent: str = opt("webtext-crawler/0.1 (+https://github.com/webtext/webtext)",
                          "User-Agent sent with every request; include a contact URL.")
    allow_networks: list[str] = opt([], "CIDR ranges that may be fetched although private/loopback (e.g. 127.0.0.0/8).",
                                    check=lambda cidr: parse_networks([cidr]))
    obey_robots: bool = opt(True, "Honour robots.txt (RFC 9309): 4xx = all allowed, 5xx/429/unreachable = all disallowed.")
    delay_s: float = opt(1.0, "Minimum seconds from the start and from the end of one request to a host to the "
                         "start of the next (robots.txt Crawl-delay raises it, up to max_crawl_delay_s).", min=0.0)
    max_crawl_delay_s: float = opt(30.0, "Cap on a robots.txt Crawl-delay honoured per host.", min=0.0)
    host_concurrency: int = opt(1, "Requests in flight at once to one host.", min=1, max=64)
    threads: int = opt(32, "Hosts fetched in parallel inside one worker (thread pool).", min=1, max=1024)
    host_groups: int = opt(16, "Beam keys the sites are spread over; each group is one unit of work "
                           "and writes its own WARC files.", min=1, max=100000)
    redirect_rounds: int = opt(2, "Extra fetch rounds in which a redirect hop to another site's group is handed to "
                               "the worker that owns that site (politeness across workers); hops left after the "
                               "last round are followed where they were reached. 0: always followed in place.",
                               min=0, max=20)
    connect_timeout_s: float = opt(10.0, "TCP connect timeout per attempt, seconds.", min=0.01)
    timeout_s: float = opt(30.0, "Total time allowed for one request (connect, headers and whole body), seconds.",
                           min=0.01)
    max_bytes: int = opt(5_000_000, "Body size cap (decoded bytes). A declared Content-Length above it is "
                         "`too_large`; a body growing past it is cut there and marked truncated.", min=1)
    max_compression_ratio: float = opt(100.0, "A gzip/deflate/br/zstd body that reaches max_bytes at more than this "
                                       "decoded/compressed ratio is refused as `bomb`.", min=1.0)
    max_redirects: int = opt(5, "Redirect hops followed per URL.", min=0, max=50)
    content_types: list[str] = opt(list(HTML_TYPES),
                                   "Accepted media types of the final response; others are `bad_type`.")
    max_retries: int = opt(3, "Retries after a connection error, 429 or 5xx (never after other 4xx).", min=0, max=20)
    backoff_s: float = opt(1.0, "First retry waits about this long; each further retry doubles it (with jitter).",
                           min=0.0, at_most="backoff_max_s")
    backoff_max_s: float = opt(60.0, "Longest wait between two attempts.", min=0.0)
    max_retry_after_s: float = opt(120.0, "A Retry-After longer than this ends the retries for that URL.", min=0.0)
    robots_max_bytes: int = opt(512_000, "Bytes of robots.txt parsed (RFC 9309 asks for at least 500 KiB).", min=1)
    warc_file_bytes: int = opt(1_000_000_000, "A WARC file is closed and a new one started past this size.", min=1)
    ca_bundle: str = opt("", "PEM file of the CA certificates trusted for HTTPS; empty: certifi's bundle.")


# --------------------------------------------------------------------------- extract
@dataclass
class ExtractConfig:
    min_chars: int = opt(1, "Documents whose extracted text is shorter than this are dead-lettered as `too_short`.", min=0)
    favor: str = opt("balanced", "trafilatura trade-off between precision and recall.",
                     choices=("precision", "balanced", "recall"))
    timeout_s: float = opt(30.0, "Per-document extraction time limit, seconds.", min=0.1)
    max_html_bytes: int = opt(5_000_000, "HTML larger than this is dead-lettered as `too_large`.", min=1)
    extractor: str = opt("combined", "Main-text extractor: trafilatura with a newspaper3k fallback (measured best), or one alone.",
                         choices=("combined", "trafilatura", "newspaper3k"))
    fallback_chars: int = opt(200, "combined: run newspaper3k when trafilatura's text is shorter than this.", min=0)
    gap_lines: int = opt(10, "combined: put back page text dropped between two kept paragraphs when the gap is at most "
                             "this many lines (forum bylines, quote headers); 0 turns gap filling off.", min=0)
    gap_chars: int = opt(600, "combined: gap filling puts back a gap only when it is at most this many characters.", min=0)
    gap_link_density: float = opt(0.8, "combined: gap filling leaves out lines with more than this share of their characters "
                                       "inside links (navigation).", min=0.0, max=1.0)


# --------------------------------------------------------------------------- filter
@dataclass
class FilterConfig:
    languages: list[str] = opt(["en"], "Languages kept by language ID (lid.176 labels: en, de, zh, yue ...); empty list: "
                                       "any language (`min_language_score` still applies to the top one).",
                               check=check_language)
    min_language_score: float = opt(0.65, "Minimum fastText language-ID probability that a document is in one of "
                                          "`languages` (their probabilities summed; the top language's when "
                                          "`languages` is empty).", min=0.0, max=1.0)
    rules: list[str] = opt(["min_length", "gopher_quality", "gopher_repetition", "c4"],
                           "Heuristic filters applied after language ID, in this order.",
                           choices=("min_length", "gopher_quality", "gopher_repetition", "c4"))
    min_chars: int = opt(200, "min_length: fewest characters a kept document has.", min=0)
    min_words: int = opt(0, "min_length: fewest whitespace words a kept document has (0: no limit).", min=0)
    gopher_min_words: int = opt(50, "gopher_quality: fewest words (Gopher: 50).", min=0, at_most="gopher_max_words")
    gopher_max_words: int = opt(100_000, "gopher_quality: most words (Gopher: 100,000).", min=1)
    gopher_min_mean_word_length: float = opt(3.0, "gopher_quality: lowest mean word length (Gopher: 3; Chinese zh, yue, "
                                                  "wuu: FineWeb-2's 1 instead).", min=0.0,
                                              at_most="gopher_max_mean_word_length")
    gopher_max_mean_word_length: float = opt(10.0, "gopher_quality: highest mean word length (Gopher: 10; Chinese zh, yue, "
                                                   "wuu: FineWeb-2's 5 instead).", min=0.0)
    gopher_max_symbol_word_ratio: float = opt(0.1, "gopher_quality: most (# + ellipses) per word (Gopher: 0.1).", min=0.0)
    gopher_max_bullet_lines_ratio: float = opt(0.9, "gopher_quality: most lines starting with a bullet (Gopher: 0.9).",
                                               min=0.0, max=1.0)
    gopher_max_ellipsis_lines_ratio: float = opt(0.3, "gopher_quality: most lines ending in an ellipsis (Gopher: 0.3).",
                                                 min=0.0, max=1.0)
    gopher_min_alpha_words_ratio: float = opt(0.8, "gopher_quality: fewest words with a letter (Gopher: 0.8; Chinese: "
                                                   "FineWeb-2's zh 0.735, yue 0.765, wuu 0.714 instead).",
                                              min=0.0, max=1.0)
    gopher_min_stop_words: int = opt(2, "gopher_quality: fewest distinct stop words of the document's language: the, be, to, of, "
                                        "and, that, have, with for English (Gopher: 2); lists for de, hr, bs, sh, sr, "
                                        "zh, yue, wuu; skipped for other languages (docs/stages/filter.md).",
                                     min=0)
    gopher_max_dup_line_fraction: float = opt(0.3, "gopher_repetition: most duplicate lines (Gopher: 0.3).", min=0.0, max=1.0)
    gopher_max_dup_para_fraction: float = opt(0.3, "gopher_repetition: most duplicate paragraphs (Gopher: 0.3).",
                                              min=0.0, max=1.0)
    gopher_max_dup_line_char_fraction: float = opt(0.2, "gopher_repetition: most characters in duplicate lines (Gopher: 0.2).",
                                                   min=0.0, max=1.0)
    gopher_max_dup_para_char_fraction: float = opt(0.2, "gopher_repetition: most characters in duplicate paragraphs (Gopher: 0.2).",
                                                   min=0.0, max=1.0)
    gopher_top_ngram_max: list[float] = opt([0.20, 0.18, 0.16],
                                            "gopher_repetition: most characters in the top 2-, 3-, 4-gram (Gopher: 0.20, 0.18, 0.16).",
                                            min=0.0, max=1.0, length=3)
    gopher_dup_ngram_max: list[float] = opt([0.15, 0.14, 0.13, 0.12, 0.11, 0.10],
                                            "gopher_repetition: most characters in duplicated 5- to 10-grams (Gopher: 0.15 ... 0.10).",
                                            min=0.0, max=1.0, length=6)
    c4_min_words_per_line: int = opt(3, "c4: lines with fewer words are dropped (C4: 3).", min=0)
    c4_min_sentences: int = opt(5, "c4: pages with fewer sentences left are removed (C4: 5).", min=0)
    c4_require_terminal_punctuation: bool = opt(True, "c4: drop lines not ending in terminal punctuation.")
    c4_reject_curly_bracket: bool = opt(True, "c4: remove pages containing '{' (code).")
    quality_model: str = opt("", "GPT-3 quality classifier (from `webtext quality train`); empty: off.")
    quality_alpha: float = opt(9.0, "Pareto shape of the keep rule pareto(alpha) > 1 - score (GPT-3: 9).", min=0.01)


# --------------------------------------------------------------------------- dedup
@dataclass
class DedupConfig:
    threshold: float = opt(0.8, "Jaccard similarity above which two documents are near-duplicates.", min=0.0, max=1.0)
    num_perm: int = opt(128, "MinHash permutations.", min=1)
    ngram: int = opt(5, "Word n-gram shingle size.", min=1)
    seed: int = opt(1, "Seed of the MinHash permutations (same seed, same signatures).", min=0)
    verify: str = opt("exact", "Check LSH candidate pairs before clustering: `exact` Jaccard of the shingle sets, "
                      "`estimate` from the signatures, or `none` (every candidate pair is an edge).",
                      choices=("exact", "estimate", "none"))
    exact: bool = opt(True, "Remove exact duplicates (equal normalised text) before near-duplicate search.")
    url: bool = opt(True, "Remove URL duplicates (equal normalised URL, e.g. across sources).")
    false_positive_weight: float = opt(0.5, "Weight of the false-positive area when choosing bands x rows.", min=0.0, max=1.0)
    false_negative_weight: float = opt(0.5, "Weight of the false-negative area when choosing bands x rows.", min=0.0, max=1.0)
    component_rounds: int = opt(4, "Large-star/small-star rounds of the connected components (each two shuffles of "
                                   "the edges); components still unfinished after them are joined by a union-find "
                                   "on one worker. 0 = union-find only.", min=0, max=64)


# --------------------------------------------------------------------------- bloom
@dataclass
class BloomConfig:
    n: int = opt(8, "n-gram length stored in the Bloom filter (GPT-2: 8).", min=1)
    fpr: float = opt(1e-8, "Target false-positive rate (GPT-2: 1e-8).", min=1e-15, max=0.5)
    partitions: int = opt(1, "Split the filter by hash prefix into this many files; each is built and queried "
                             "on its own, so a worker holds one partition, not the whole filter.", min=1, max=4096)
    capacity: int = opt(0, "Expected distinct n-grams the filter is sized for; 0 counts the corpus's n-gram "
                           "positions in a first pass (an upper bound, so the FPR bound holds).", min=0)
    self_check_queries: int = opt(1_000_000, "Random absent n-grams queried after the build to measure the "
                                             "empirical false-positive rate (GPT-2-style self-check); 0 skips.", min=0)


# --------------------------------------------------------------------------- contamination
@dataclass
class ContaminationConfig:
    benchmarks: list[str] = opt([], "Benchmarks to report on, as NAME=PATH[:FIELD].")
    exact: bool = opt(False, "Re-check Bloom hits against the corpus n-grams (second pass) so the reported "
                             "overlap has no false positives.")
    dirty_min: int = opt(8, "GPT-3 dirty/clean: lower clamp of N (5th-percentile example length).", min=1,
                         at_most="dirty_max")
    dirty_max: int = opt(13, "GPT-3 dirty/clean: upper clamp of N.", min=1)
    decontaminate_n: int = opt(13, "Decontamination: n-gram length that marks a collision (GPT-3: 13).", min=1)
    decontaminate_window: int = opt(200, "Decontamination: characters removed on each side of a colliding n-gram.", min=0)
    decontaminate_min_piece: int = opt(200, "Decontamination: pieces shorter than this (characters) are dropped.", min=0)
    decontaminate_max_splits: int = opt(10, "Decontamination: a document split more than this many times is dropped.", min=0)
    decontaminate_max_doc_freq: int = opt(10, "Decontamination: benchmark n-grams found in more than this many "
                                              "documents are ignored (common phrases).", min=1)


# --------------------------------------------------------------------------- tokenize
@dataclass
class TokenizeConfig:
    vocab_size: int = opt(50257, "BPE vocabulary size including <|endoftext|> (GPT-2: 50257); with a tokenizer "
                          "folder, a value other than the default must be the folder's size.", min=257)
    shard_tokens: int = opt(100_000_000, "Tokens per shard.", min=1)
    tokenizer: str = opt("train", "`train`: train byte-level BPE on the corpus into RUN/tokenizer; "
                         "or a tokenizer folder (vocab.json+merges.txt, or GPT-2's encoder.json+vocab.bpe).")
    extra_special_tokens: list[str] = opt([], "Special tokens added after <|endoftext|> when training; with a "
                                              "tokenizer folder, a non-empty list must be the folder's, in id order.")
    min_frequency: int = opt(2, "A pair is merged only if seen at least this often when training (with a "
                                "tokenizer folder it must stay at its default).", min=0)
    val_fraction: float = opt(0.005, "Fraction of documents (by seeded id hash) in the validation split; "
                              "at least one document when any exists.", min=0.0, max=1.0)
    encoder: str = opt("auto", "Encoding backend: tiktoken (fastest, used by auto when ids allow) or hf.",
                       choices=("auto", "tiktoken", "hf"))
    num_threads: int = opt(0, "Encoding threads; 0 = all cores.", min=0)
    text_docs: str = opt("line", "What one document is in a plain-text input (Parquet and JSONL inputs have "
                         "records): a line, a blank-line separated paragraph, or the whole file.",
                         choices=("line", "paragraph", "file"))


# --------------------------------------------------------------------------- train
@dataclass
class TrainConfig:
    model: str = opt("tiny", "Model size preset (GPT-2 paper sizes, or `tiny`/`small-test` for tests).",
                     choices=("tiny", "small-test", "124M", "350M", "774M", "1.5B"))
    steps: int = opt(50, "Optimizer steps in all (the cosine schedule ends here).", min=0)
    batch_size: int = opt(8, "Sequences per micro-batch on each device.", min=1)
    seq_len: int = opt(0, "Tokens per sequence; 0 uses the preset's context (1024 for GPT-2 sizes).", min=0)
    grad_accum: int = opt(1, "Micro-batches accumulated per optimizer step (per device).", min=1)
    vocab_size: int = opt(0, "Model vocabulary; 0 takes it from the tokenizer, else from the tokens' manifest.json (else 50257).", min=0)
    dropout: float = opt(0.0, "Dropout on embeddings, attention and residuals (GPT-2 used 0.1; 0 for pretraining).",
                         min=0.0, max=1.0)
    lr: float = opt(6e-4, "Peak learning rate (GPT-3 paper, 125M: 6e-4).", min=0.0)
    min_lr: float = opt(6e-5, "Learning rate at the end of the cosine decay.", min=0.0, at_most="lr")
    warmup_steps: int = opt(10, "Steps of linear warm-up from 0 to `lr`.", min=0)
    weight_decay: float = opt(0.1, "AdamW weight decay, applied to matrices (dim >= 2) only.", min=0.0)
    beta1: float = opt(0.9, "AdamW beta1.", min=0.0, max=1.0)
    beta2: float = opt(0.95, "AdamW beta2 (GPT-3: 0.95).", min=0.0, max=1.0)
    grad_clip: float = opt(1.0, "Clip the global gradient norm to this; 0 disables.", min=0.0)
    shuffle: bool = opt(True, "Read windows in a seeded random order per epoch (false: in shard order).")
    seed: int = opt(1337, "Seed for initialisation, window order and dropout.", min=0)
    eval_interval: int = opt(50, "Evaluate validation loss every this many steps (and at the end); 0 never.", min=0)
    eval_batches: int = opt(20, "Validation batches per evaluation over all ranks (the first ones of the validation shards, always the same).", min=1)
    ckpt_interval: int = opt(0, "Write a checkpoint every this many steps; 0: at evaluations and the end.", min=0)
    log_interval: int = opt(1, "Log loss, tokens/s and MFU every this many steps.", min=1)
    compile: str = opt("auto", "torch.compile the model: auto = on CUDA only.", choices=("auto", "on", "off"))
    compile_mode: str = opt("default", "How inductor compiles: `default`; `coordinate-descent` (tunes each "
                            "generated kernel's launch settings, ~1 min more compile); `max-autotune-no-cudagraphs` "
                            "(benchmarks matmul kernels too, many minutes).",
                            choices=("default", "coordinate-descent", "max-autotune-no-cudagraphs"))
    loss_chunk_rows: int = opt(0, "> 0: compute the output projection and the loss together in chunks of this many "
                               "token rows, never holding the full logits (llm.c's fused classifier); 0: plain.", min=0)
    dtype: str = opt("auto", "Autocast dtype: auto = bfloat16 on CUDA, float32 on CPU.",
                     choices=("auto", "bfloat16", "float32"))


# --------------------------------------------------------------------------- datacard
@dataclass
class DatacardConfig:
    license: str = opt("other", "Licence identifier written into the card's YAML header.")
    license_name: str = opt("", "With license = \"other\": an id for the licence (card header `license_name`); empty: omitted.")
    license_link: str = opt("", "With license = \"other\": a URL or file name of the licence text; empty: omitted.")
    pretty_name: str = opt("", "Human-readable dataset name for the card; empty: [run] name.")
    curated_by: str = opt("", "Who built the dataset (card and datasheet); empty: marked for the author.")
    contact: str = opt("", "How to reach the maintainers; empty: marked for the author.")
    repository: str = opt("", "Where the dataset is published; empty: marked for the author.")
    purpose: str = opt("", "Why this dataset was built (datasheet: Motivation); empty: marked for the author.")
    out_of_scope: str = opt("", "Uses the dataset is not meant for; empty: marked for the author.")
    citation: str = opt("", "BibTeX entry for the dataset; empty: marked for the author.")
    tags: list[str] = opt(["webtext", "pretraining", "web-text"], "Tags in the card's YAML header.")
    top_k: int = opt(20, "How many top domains and subreddits the card lists.", min=1, max=10000)


# --------------------------------------------------------------------------- the recipe
@dataclass
class Recipe:
    run: RunConfig = field(default_factory=RunConfig)
    links: LinksConfig = field(default_factory=LinksConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    bloom: BloomConfig = field(default_factory=BloomConfig)
    contamination: ContaminationConfig = field(default_factory=ContaminationConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    datacard: DatacardConfig = field(default_factory=DatacardConfig)

    # ---- conversions
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        header = "# Resolved webtext recipe: every parameter, defaults filled in.\n"
        return header + tomli_w.dumps(_drop_none(self.to_dict()))

    def section(self, name: str) -> Any:
        return getattr(self, name)

    def replace(self, overrides: dict[str, dict[str, Any]]) -> "Recipe":
        """A copy with ``{section: {key: value}}`` applied and validated."""
        merged = self.to_dict()
        for sec, values in overrides.items():
            merged.setdefault(sec, {}).update(values)
        return recipe_from_dict(merged)


def _drop_none(d: dict) -> dict:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        (arg,) = typing.get_args(tp)
        return f"list of {_type_name(arg)}"
    if origin is typing.Union or str(origin) == "types.UnionType":
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return {int: "integer", float: "number", bool: "true/false", str: "string", type(None): "nothing"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "types.UnionType":
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except RecipeError:
                pass
        raise RecipeError(f"{where} = {value!r}: expected {_type_name(tp)}")
    if origin is list:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise RecipeError(f"{where} = {value!r}: expected {_type_name(tp)}")
        return [_coerce(v, arg, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -2**63 <= value < 2**63:  # TOML's integers are 64-bit, and so are the Parquet columns
                raise RecipeError(f"{where} = {value!r}: outside the 64-bit integer range")
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise RecipeError(f"{where}: unsupported field type {tp!r}")
    raise RecipeError(f"{where} = {value!r}: expected {_type_name(tp)}")


def _build_section(cls: type, values: dict[str, Any], section: str) -> Any:
    if not isinstance(values, dict):
        raise RecipeError(f"[{section}] must be a table of key = value pairs, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise RecipeError(
            f"unknown key [{section}] {unknown[0]} = {values[unknown[0]]!r}; "
            f"allowed keys in [{section}]: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        if name not in values:
            continue
        where = f"[{section}] {name}"
        v = _coerce(values[name], hints[name], where)
        meta = f.metadata
        if meta.get("length") is not None and len(v) != meta["length"]:  # a short list turned checks off
            raise RecipeError(f"{where} = {v!r}: needs exactly {meta['length']} values")
        _check_listed_once(v, hints[name], where)
        items = v if isinstance(v, list) else [v]
        for item in items:
            if meta.get("choices") is not None and item not in meta["choices"]:
                raise RecipeError(f"{where} = {item!r}: allowed values are {', '.join(map(repr, meta['choices']))}")
            if meta.get("min") is not None and isinstance(item, (int, float)) and item < meta["min"]:
                raise RecipeError(f"{where} = {item!r}: must be >= {meta['min']}")
            if meta.get("max") is not None and isinstance(item, (int, float)) and item > meta["max"]:
                raise RecipeError(f"{where} = {item!r}: must be <= {meta['max']}")
            if meta.get("check") is not None:
                try:
                    meta["check"](item)
                except ValueError as e:
                    raise RecipeError(f"{where} = {item!r}: {e}") from None
        kwargs[name] = v
    return cls(**kwargs)


def _check_listed_once(value: Any, tp: Any, where: str) -> None:
    """A list of strings names things (rules, languages, block lists, inputs, tokens): one named twice
    would be applied, read or added twice. Lists of numbers are per-position values and may repeat."""
    if typing.get_origin(tp) is not list or typing.get_args(tp) != (str,):
        return
    first: dict[str, int] = {}
    for i, item in enumerate(value):
        if item in first:
            name = where.rsplit(" ", 1)[-1]
            raise RecipeError(f"{where} = {value!r}: {item!r} is listed twice ({name}[{first[item]}] and "
                              f"{name}[{i}]); list each once")
        first[item] = i


def _check_pairs(obj: Any, section: str) -> None:
    """Every ``at_most`` pair of a resolved section (the file's values and the defaults alike): a min
    above its max (gopher_min_words > gopher_max_words) would remove every document, not fail."""
    for f in dataclasses.fields(obj):
        upper = f.metadata.get("at_most")
        if upper is None:
            continue
        low, high = getattr(obj, f.name), getattr(obj, upper)
        if low > high:
            raise RecipeError(f"[{section}] {f.name} = {low!r}: must be <= [{section}] {upper} = {high!r}")


def recipe_from_dict(data: dict[str, Any], pairs: bool = True) -> Recipe:
    """A validated recipe from ``{section: {key: value}}``; with ``pairs`` each section's min/max
    pairs (``at_most``) are checked too, on its values with the defaults filled in."""
    sections = {f.name: f for f in dataclasses.fields(Recipe)}
    hints = typing.get_type_hints(Recipe)
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise RecipeError(f"unknown section [{unknown[0]}]; allowed sections: {', '.join(sections)}")
    kwargs = {name: _build_section(hints[name], data[name], name) for name in sections if name in data}
    recipe = Recipe(**kwargs)
    if pairs:
        for name in sections:
            _check_pairs(recipe.section(name), name)
    return recipe


def load_recipe(path: str | os.PathLike | None = None, base: Recipe | None = None) -> Recipe:
    """Load and validate a recipe file; ``None`` gives the all-defaults recipe. With ``base``,
    the file changes the settings it names and ``base`` gives the others (a run directory's
    recorded recipe, which a partial recipe file must not reset to the defaults)."""
    if path is None:
        return base or Recipe()
    path = os.fspath(path)
    data = _read_toml(path)
    try:
        # the file on its own: its errors name its keys; a min/max pair is checked where the other
        # end is known, against ``base``'s value rather than the default when there is a base
        recipe = recipe_from_dict(data, pairs=base is None)
        return recipe if base is None else base.replace(data)
    except RecipeError as e:
        raise RecipeError(f"{path}: {e}") from None


def _read_toml(path: str) -> dict[str, Any]:
    try:
        if "://" in path:
            import fsspec

            with fsspec.open(path, "rb") as fh:
                data = tomllib.load(fh)
        else:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
    except FileNotFoundError:
        raise RecipeError(f"recipe file not found: {path}") from None
    except IsADirectoryError:
        raise RecipeError(f"{path}: a folder, not a recipe file") from None
    except UnicodeDecodeError as e:  # TOML is UTF-8
        line = e.object[:e.start].count(b"\n") + 1
        raise RecipeError(f"{path}: not valid TOML: not UTF-8 text (line {line})") from None
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML: {e}") from None
    return data


def recipe_docs_markdown() -> str:
    """A Markdown table of every recipe parameter (used to write docs/recipe.md)."""
    lines = ["| key | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    hints_r = typing.get_type_hints(Recipe)
    for sec in dataclasses.fields(Recipe):
        cls = hints_r[sec.name]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            allowed = _type_name(hints[f.name])
            m = f.metadata
            if m.get("choices"):
                allowed = " / ".join(map(str, m["choices"]))
            elif m.get("min") is not None or m.get("max") is not None:
                allowed += f" in [{m.get('min', '')}, {m.get('max', '')}]".replace("None", "")
            if m.get("length") is not None:
                allowed = f"{m['length']} × {allowed.removeprefix('list of ')}"
            if m.get("at_most") is not None:
                allowed += f", at most `{m['at_most']}`"
            lines.append(f"| `[{sec.name}] {f.name}` | `{default!r}` | {allowed} | {m.get('doc', '')} |")
    return "\n".join(lines) + "\n"


def _print_reference() -> None:
    print("# Recipe reference (`webtext.toml`)\n")
    print("Every parameter, its default and what it allows. Generated from `corpus_tools/recipe.py` by")
    print("`python -m corpus_tools.recipe > docs/recipe.md`; a test fails when this page is stale.")
    print("A list of strings names each value once (a rule, language or input listed twice is refused),")
    print("and a key that is the low end of a pair (\"at most `...`\") may not exceed the other end, whether")
    print("the recipe sets it or leaves it at its default.\n")
    print(recipe_docs_markdown(), end="")


if __name__ == "__main__":
    _print_reference()
