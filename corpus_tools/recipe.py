"""The recipe (``webtext.toml``): typed, validated configuration with every default filled in.

Each ``[section]`` of the TOML file is one dataclass below. A field's type annotation is
enforced; its ``metadata`` may add ``choices``, ``min``/``max`` (inclusive) and ``doc``.
An unknown section or key, or a value of the wrong type or range, raises
:class:`RecipeError` naming the key, the value and what is allowed.

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
from typing import Any

import tomli_w


class RecipeError(ValueError):
    """A recipe that cannot be used, with a message a user can act on."""


def opt(default: Any, doc: str, *, choices: tuple | None = None, min: float | None = None,
        max: float | None = None) -> Any:
    """Declare a recipe field with its default, documentation and constraints."""
    meta = {"doc": doc, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- run
@dataclass
class RunConfig:
    name: str = opt("webtext", "Name of the dataset (used in the data card).")
    seed: int = opt(1234, "Seed for every random choice in the run (sampling, splits, init).", min=0)
    num_shards: int = opt(4, "Number of Parquet shards each document stage writes.", min=1, max=100000)
    inputs: list[str] = opt([], "Input paths/globs when --input is not given: Reddit dumps or WARC/WET files.")


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
    batch_posts: int = opt(100_000, "Kept posts a dump reader buffers before shipping them as one Arrow batch "
                                    "(memory bound; does not change the output).", min=1)
    top_n: int = opt(50, "How many top domains/subreddits stats/links.json lists.", min=1)


# --------------------------------------------------------------------------- fetch
@dataclass
class FetchConfig:
    user_agent: str = opt("webtext-crawler/0.1 (+https://github.com/webtext/webtext)",
                          "User-Agent sent with every request; include a contact URL.")
    allow_networks: list[str] = opt([], "CIDR ranges that may be fetched although private/loopback (e.g. 127.0.0.0/8).")


# --------------------------------------------------------------------------- extract
@dataclass
class ExtractConfig:
    min_chars: int = opt(1, "Documents whose extracted text is shorter than this are dead-lettered as `empty`.", min=0)
    favor: str = opt("balanced", "trafilatura trade-off between precision and recall.",
                     choices=("precision", "balanced", "recall"))
    timeout_s: float = opt(30.0, "Per-document extraction time limit, seconds.", min=0.1)
    max_html_bytes: int = opt(5_000_000, "HTML larger than this is dead-lettered as `too_large`.", min=1)


# --------------------------------------------------------------------------- filter
@dataclass
class FilterConfig:
    languages: list[str] = opt(["en"], "Languages kept by language ID (ISO 639-1); empty list keeps all.")
    min_language_score: float = opt(0.65, "Minimum fastText language-ID probability.", min=0.0, max=1.0)


# --------------------------------------------------------------------------- dedup
@dataclass
class DedupConfig:
    threshold: float = opt(0.8, "Jaccard similarity above which two documents are near-duplicates.", min=0.0, max=1.0)
    num_perm: int = opt(128, "MinHash permutations.", min=1)
    ngram: int = opt(5, "Word n-gram shingle size.", min=1)


# --------------------------------------------------------------------------- bloom
@dataclass
class BloomConfig:
    n: int = opt(8, "n-gram length stored in the Bloom filter (GPT-2: 8).", min=1)
    fpr: float = opt(1e-8, "Target false-positive rate (GPT-2: 1e-8).", min=1e-15, max=0.5)


# --------------------------------------------------------------------------- contamination
@dataclass
class ContaminationConfig:
    benchmarks: list[str] = opt([], "Benchmarks to report on, as NAME=PATH[:FIELD].")


# --------------------------------------------------------------------------- tokenize
@dataclass
class TokenizeConfig:
    vocab_size: int = opt(50257, "BPE vocabulary size including <|endoftext|> (GPT-2: 50257).", min=257)
    shard_tokens: int = opt(100_000_000, "Tokens per shard.", min=1)


# --------------------------------------------------------------------------- train
@dataclass
class TrainConfig:
    model: str = opt("tiny", "Model size preset.")
    steps: int = opt(50, "Optimizer steps.", min=0)


# --------------------------------------------------------------------------- datacard
@dataclass
class DatacardConfig:
    license: str = opt("other", "Licence identifier written into the card's YAML header.")


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
        items = v if isinstance(v, list) else [v]
        for item in items:
            if meta.get("choices") is not None and item not in meta["choices"]:
                raise RecipeError(f"{where} = {item!r}: allowed values are {', '.join(map(repr, meta['choices']))}")
            if meta.get("min") is not None and isinstance(item, (int, float)) and item < meta["min"]:
                raise RecipeError(f"{where} = {item!r}: must be >= {meta['min']}")
            if meta.get("max") is not None and isinstance(item, (int, float)) and item > meta["max"]:
                raise RecipeError(f"{where} = {item!r}: must be <= {meta['max']}")
        kwargs[name] = v
    return cls(**kwargs)


def recipe_from_dict(data: dict[str, Any]) -> Recipe:
    sections = {f.name: f for f in dataclasses.fields(Recipe)}
    hints = typing.get_type_hints(Recipe)
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise RecipeError(f"unknown section [{unknown[0]}]; allowed sections: {', '.join(sections)}")
    kwargs = {name: _build_section(hints[name], data[name], name) for name in sections if name in data}
    return Recipe(**kwargs)


def load_recipe(path: str | os.PathLike | None = None) -> Recipe:
    """Load and validate a recipe file; ``None`` gives the all-defaults recipe."""
    if path is None:
        return Recipe()
    path = os.fspath(path)
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
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML: {e}") from None
    try:
        return recipe_from_dict(data)
    except RecipeError as e:
        raise RecipeError(f"{path}: {e}") from None


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
            lines.append(f"| `[{sec.name}] {f.name}` | `{default!r}` | {allowed} | {m.get('doc', '')} |")
    return "\n".join(lines) + "\n"
