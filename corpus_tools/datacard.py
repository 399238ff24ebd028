"""The data card: gather what a run measured into ``datacard.json`` and render ``README.md``.

:func:`gather` reads ``RUN/stats/<stage>.json`` (funnel, reasons, parameters, versions),
profiles the run's Parquet outputs (:mod:`corpus_tools.corpus_profile`) and
``RUN/contamination/report.json``, and returns one JSON-ready dict. :func:`render_card` turns
that dict into a Hugging Face dataset card (YAML header + the HF template's sections + the
Datasheets for Datasets questions). :func:`write_datacard` does both and draws the figures.

Nothing here assumes a stage ran: a missing stats file or output folder is reported as
``"not run"``; an unreadable one as ``"unreadable"`` with the error; a stage with stats but no
``_SUCCESS`` (a fetch that archived nothing) as ``"did not finish"``: the card lists it as such,
measures none of its outputs and says at the top that the run is incomplete.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import tomllib
from typing import Any

import tomli_w

from corpus_tools import __version__
from corpus_tools.corpus_profile import (
    parquet_paths,
    parse_time,
    profile_clusters,
    profile_documents,
    profile_fetch_log,
    profile_links,
)
from corpus_tools.datacard_papers import BROWN_2020, GEBRU_2021, RADFORD_2019, Paper
from corpus_tools.recipe import DatacardConfig, Recipe, RecipeError, recipe_from_dict
from corpus_tools.rundir import CLUSTERS_DIR, STAGE_DIRS, RunDir, join
from corpus_tools.schema import DOC_SCHEMA
from corpus_tools.versions import library_versions

NOT_RUN = "not run"
DID_NOT_FINISH = "did not finish"  # stats written, no _SUCCESS: its numbers are no claim about the corpus
TODO = "[More Information Needed]"  # the HF template's marker for what the author must fill in

# Stages whose stats make the funnel, in pipeline order; the label is what they output.
FUNNEL_STAGES = (
    ("links", "links"),
    ("fetch", "fetched"),
    ("extract", "extracted"),
    ("filter", "filtered"),
    ("dedup", "deduplicated (final)"),
)
# Every stage the card reports on (other stats/*.json files found are added after these).
CARD_STAGES = ("links", "fetch", "extract", "filter", "dedup", "bloom", "tokenize", "contamination")
# Where the corpus is measured: the final corpus, else the latest document stage present.
DOC_STAGES = ("dedup", "filter", "extract")
SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"),
)


# =========================================================================== gathering
def _read_json(run: RunDir, path: str) -> tuple[Any, str | None]:
    """(object, None), (None, None) when absent, (None, error) when unreadable."""
    if not run.exists(path):
        return None, None
    try:
        return json.loads(run.read_text(path)), None
    except (OSError, ValueError) as e:
        return None, f"{type(e).__name__}: {e}"


def _int_or_none(v: Any) -> int | None:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def stage_summary(run: RunDir, stage: str) -> dict[str, Any]:
    """What ``stats/<stage>.json`` says, normalised; ``{"status": "not run"}`` when it is absent."""
    stats, err = _read_json(run, run.stats_path(stage))
    if err:
        return {"status": "unreadable", "error": err}
    if not isinstance(stats, dict):
        return {"status": NOT_RUN} if stats is None else {"status": "unreadable", "error": "not a JSON object"}
    reasons = stats.get("reasons") if isinstance(stats.get("reasons"), dict) else {}
    bad = sorted(str(k) for k, v in reasons.items() if _int_or_none(v) is None)
    if bad:  # a hand-edited or damaged file: the card must not show a funnel that silently lacks a reason
        return {"status": "unreadable", "error": f"reasons {', '.join(bad)}: not a count"}
    finished = stage not in STAGE_DIRS or run.is_done(stage)  # decontaminate has stats alone
    return {
        "status": "ran" if finished else DID_NOT_FINISH,
        "records_in": _int_or_none(stats.get("records_in")),
        "records_out": _int_or_none(stats.get("records_out")),
        "reasons": {str(k): int(v) for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        "elapsed_s": stats.get("elapsed_s"),
        "started_at": stats.get("started_at"),
        "finished_at": stats.get("finished_at"),
        "details": stats.get("details") if isinstance(stats.get("details"), dict) else {},
        "parameters": stats.get("parameters") if isinstance(stats.get("parameters"), dict) else {},
        "versions": stats.get("versions") if isinstance(stats.get("versions"), dict) else {},
    }


def _pct(n: int | None, of: int | None) -> float | None:
    if n is None or not of:
        return None
    return round(100.0 * n / of, 2)


def funnel(stages: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the funnel: the start count, then per stage its removals by reason and its output.

    The start is the input of the first funnel stage that ran (for a Reddit run, the
    posts the links stage read). ``pct_of_start`` relates a count to the start,
    ``pct_of_input`` a removal to the input of the stage that removed it. A stage that
    did not run gives one ``"not run"`` row.
    """
    rows: list[dict[str, Any]] = []
    start: int | None = None
    for stage, label in FUNNEL_STAGES:
        s = stages.get(stage, {"status": NOT_RUN})
        if s["status"] != "ran":
            rows.append({"kind": "stage", "stage": stage, "step": label, "status": s["status"], "count": None})
            continue
        if start is None:
            start = s["records_in"]
            first_label = "posts" if stage == "links" else f"{stage} input"
            rows.append({"kind": "start", "stage": stage, "step": first_label, "status": "ran",
                         "count": start, "pct_of_start": 100.0 if start else None})
        for reason, n in s["reasons"].items():
            rows.append({"kind": "removed", "stage": stage, "step": f"{stage}: {reason}", "status": "ran",
                         "count": n, "pct_of_input": _pct(n, s["records_in"])})
        merged = _merged_posts(stage, s)
        if merged:
            rows.append({"kind": "merged", "stage": stage, "step": f"{stage}: {MERGED_STEP}", "status": "ran",
                         "count": merged, "pct_of_input": _pct(merged, s["records_in"])})
        if s["records_in"] is not None and s["records_out"] is not None:
            rest = s["records_in"] - sum(s["reasons"].values()) - (merged or 0) - s["records_out"]
            if rest:  # the stats do not say where these went (or came from): show it rather than a funnel that does not add up
                rows.append({"kind": "unexplained", "stage": stage, "step": f"{stage}: {UNEXPLAINED_STEP}",
                             "status": "ran", "count": rest, "pct_of_input": _pct(rest, s["records_in"])})
        rows.append({"kind": "stage", "stage": stage, "step": label, "status": "ran",
                     "count": s["records_out"], "pct_of_start": _pct(s["records_out"], start)})
    return rows


MERGED_STEP = "posts merged into the canonical URL of another kept post"
UNEXPLAINED_STEP = "difference not explained by a recorded reason"


def _merged_posts(stage: str, s: dict[str, Any]) -> int | None:
    """Links only: posts kept minus the canonical URLs they became (several posts linking one URL are one link).

    The links stage counts its input and its removals in posts and its output in canonical URLs
    (``details.units``); ``details.posts_kept`` bridges the two.
    """
    kept = _int_or_none(s["details"].get("posts_kept")) if stage == "links" else None
    if kept is None or s["records_out"] is None or kept < s["records_out"]:
        return None
    return kept - s["records_out"]


def _profile(kind: str, paths: list[str], fn, *args) -> dict[str, Any]:
    if not paths:
        return {"status": NOT_RUN}
    try:
        return {"status": "measured", "shards": len(paths), **fn(paths, *args)}
    except Exception as e:  # a damaged shard must not sink the whole card
        return {"status": "unreadable", "error": f"{kind}: {type(e).__name__}: {e}"}


def _corpus(run: RunDir, top_k: int, unfinished: set[str]) -> dict[str, Any]:
    for stage in DOC_STAGES:
        paths = parquet_paths(run.stage_dir(stage)) if stage not in unfinished else []
        if paths:
            out = _profile("documents", paths, profile_documents, top_k)
            out["source_stage"] = stage
            out["source"] = STAGE_DIRS.get(stage, stage) + "/"
            if out["status"] == "measured":  # measured in the same pass
                out["capture_times"] = {"status": "measured", "shards": len(paths), **out["capture_times"]}
            return out
    return {"status": NOT_RUN}


NOT_CONFIGURED = "no benchmark configured"


def _contamination(run: RunDir, stage: dict[str, Any]) -> dict[str, Any]:
    report, err = _read_json(run, join(run.stage_dir("contamination"), "report.json"))
    if err:
        return {"status": "unreadable", "error": err}
    if not isinstance(report, dict) or not isinstance(report.get("benchmarks"), list):
        if stage.get("status") == "ran" and stage["details"].get("configured") is False:
            return {"status": NOT_CONFIGURED}  # the stage ran, found `[contamination] benchmarks` empty, measured nothing
        return {"status": NOT_RUN}
    rows = []
    for b in report["benchmarks"]:
        if isinstance(b, dict):
            rows.append({k: b.get(k) for k in ("name", "examples", "ngrams", "ngrams_found", "percent_found",
                                               "dirty_n", "dirty_examples")})
    return {"status": "measured", "n": report.get("n"), "fpr": report.get("fpr"),
            "exact": report.get("exact"), "benchmarks": rows}


DECONTAMINATION_COUNTS = (
    "documents_in", "documents_clean", "documents_split", "documents_dropped_too_many_splits",
    "documents_dropped_all_pieces_short", "documents_rejected", "pieces_out", "pieces_dropped_short",
    "documents_out", "chars_in", "chars_removed", "benchmark_ngrams", "ngrams_colliding",
    "ngrams_ignored_frequent", "ngrams_used",
)


def _decontamination(run: RunDir) -> dict[str, Any]:
    """The counts ``webtext decontaminate --run RUN`` recorded in ``stats/decontaminate.json``."""
    stats, err = _read_json(run, run.stats_path("decontaminate"))
    if err:
        return {"status": "unreadable", "error": err}
    details = stats.get("details") if isinstance(stats, dict) else None
    if not isinstance(details, dict):
        return {"status": NOT_RUN}
    out = {"status": "measured", **{k: _int_or_none(details.get(k)) for k in DECONTAMINATION_COUNTS}}
    if "documents_rejected" not in details:  # recorded before the shared document check: rows without text only
        out["documents_rejected"] = _int_or_none(details.get("documents_dropped_no_text"))
    out.update({k: details.get(k) for k in ("n", "window", "min_piece", "max_splits", "max_doc_freq")})
    out["benchmarks"] = [str(b) for b in details.get("benchmarks") or []]
    outputs = stats.get("outputs") if isinstance(stats.get("outputs"), dict) else {}
    out["output"] = outputs.get("docs")
    out["output_shown"] = shown_path(out["output"], run)
    return out


def published_path(path: str, run: RunDir) -> tuple[str, str]:
    """A path, as a published card may name it, and where it lies: inside the run directory
    relative to it (``("dedup", "run")``); a URL as it is (``"url"``); a local path elsewhere by
    its name alone (``"local"``: a card must not publish a home directory); a relative path as
    given (``"relative"``: relative to a folder the card cannot know)."""
    if "://" in path:
        root = run.root.rstrip("/") + "/"
        return (path[len(root):].rstrip("/"), "run") if path.startswith(root) else (path, "url")
    import os

    if not os.path.isabs(path):  # recorded as typed (older webtext): the folder it is relative to is unknown
        return path, "relative"
    rel = os.path.relpath(path, run.root)
    if rel != os.curdir and not rel.startswith(os.pardir + os.sep) and rel != os.pardir:
        return rel.replace(os.sep, "/"), "run"
    return os.path.basename(path.rstrip(os.sep)), "local"


def shown_path(path: Any, run: RunDir) -> str | None:
    """A folder a stage recorded, as a published card shows it (:func:`published_path`), saying
    where it lies."""
    if not isinstance(path, str) or not path:
        return None
    shown, where = published_path(path, run)
    return {"run": f"`{shown}/` in the run directory", "url": f"`{shown}`",
            "relative": f"`{shown}` (relative to the folder the command was run from)",
            "local": f"`{shown}`, a local folder outside the run directory"}[where]


def published_values(value: Any, run: RunDir) -> Any:
    """``value`` (a recipe, a stage's stats: dicts, lists, strings, numbers) with every local path in
    it as the card shows paths (:func:`published_path`): ``[run] inputs``, a quality model, a
    tokenizer folder, the PATH of a benchmark's ``NAME=PATH[:FIELD]``, a stage's output folders.
    Any absolute local path is one, whatever the key (these hold no other absolute values), so a
    setting or detail added later is not published whole."""
    import os

    if isinstance(value, dict):
        return {k: published_values(v, run) for k, v in value.items()}
    if isinstance(value, list):
        return [published_values(x, run) for x in value]
    if not isinstance(value, str) or "\n" in value:
        return value
    if os.path.isabs(value):
        return published_path(value, run)[0]
    name, sep, rest = value.partition("=")
    if sep and os.path.isabs(rest):  # a benchmark, NAME=PATH[:FIELD]: the field stays after the name
        return f"{name}={published_path(rest, run)[0]}"
    return value


def published_json(data: dict[str, Any], run: RunDir) -> dict[str, Any]:
    """``datacard.json`` as published beside the card: the gathered data with the recipe and the
    stages' stats naming paths as the card does (no home directory in a published file)."""
    public = {k: v for k, v in data.items() if k != "recipe_shown"}
    return {**public, "recipe": data["recipe_shown"], "stages": published_values(data["stages"], run)}


def _token_shards(run: RunDir) -> dict[str, Any]:
    """How many token shards of each split ``tokens/manifest.json`` lists (validation: ``*_val_*``)."""
    manifest, err = _read_json(run, join(run.stage_dir("tokenize"), "manifest.json"))
    if err or not isinstance(manifest, dict) or not isinstance(manifest.get("shards"), list):
        return {"status": "unreadable", "error": err or "no list of shards"} if manifest is not None or err else {
            "status": NOT_RUN}
    splits = [sh.get("split") for sh in manifest["shards"] if isinstance(sh, dict)]
    return {"status": "measured", "val": splits.count("val"), "train": splits.count("train")}


def _recipe(run: RunDir, recipe: Recipe | None) -> tuple[dict[str, Any], DatacardConfig, str]:
    """(the recipe as a dict, the datacard section, where it came from)."""
    if recipe is not None:
        return recipe.to_dict(), recipe.datacard, "the run's `recipe.toml`, every default filled in"
    raw: dict[str, Any] = {}
    source = "webtext's defaults: the run directory has no `recipe.toml`"
    if run.exists(run.recipe_path):
        try:
            raw = tomllib.loads(run.read_text(run.recipe_path))
            source = "the run's `recipe.toml`"
        except (OSError, tomllib.TOMLDecodeError) as e:
            source = f"webtext's defaults: the run's `recipe.toml` could not be read ({e})"
    try:
        card_cfg = recipe_from_dict({"datacard": raw.get("datacard", {})}).datacard
    except RecipeError:
        card_cfg = DatacardConfig()
    merged = Recipe().to_dict()
    for sec, values in raw.items():  # keep what the run recorded, even keys this version lacks
        if isinstance(values, dict):
            merged.setdefault(sec, {}).update(values)
    return merged, card_cfg, source


def _versions(stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    used: dict[str, set] = {}
    for s in stages.values():
        for pkg, ver in (s.get("versions") or {}).items():
            used.setdefault(str(pkg), set()).add(str(ver))
    return {"stages": {k: sorted(v) for k, v in sorted(used.items())}, "card": library_versions()}


def size_category(n: int | None) -> str:
    if n is None:
        return "other"
    for bound, name in SIZE_CATEGORIES:
        if n < bound:
            return name
    return "n>1T"


def reported_stages(run: RunDir) -> list[str]:
    """The stages the card reports on: :data:`CARD_STAGES`, then any other ``stats/*.json`` of a
    local run (``decontaminate``)."""
    names = list(CARD_STAGES)
    stats_dir = run.path("stats")
    if run.exists(stats_dir) and "://" not in run.root:
        import os

        extra = sorted(f[:-5] for f in os.listdir(stats_dir) if f.endswith(".json"))
        names += [n for n in extra if n not in names and n != "datacard"]
    return names


def gather(root: str, recipe: Recipe | None = None) -> dict[str, Any]:
    """Every number the card shows, as one JSON-ready dict (this is ``datacard.json``)."""
    run = RunDir(root)
    recipe_dict, cfg, recipe_source = _recipe(run, recipe)
    stages = {name: stage_summary(run, name) for name in reported_stages(run)}

    unfinished = {name for name, s in stages.items() if s["status"] == DID_NOT_FINISH}

    def output(stage: str, kind: str, folder: str, fn, *args) -> dict[str, Any]:
        """A stage's output measured, unless the stage did not finish (then it is no part of the run)."""
        if stage in unfinished:
            return {"status": DID_NOT_FINISH}
        return _profile(kind, parquet_paths(folder), fn, *args)

    corpus = _corpus(run, cfg.top_k, unfinished)
    tok = stages.get("tokenize", {})
    tokens = _int_or_none((tok.get("details") or {}).get("tokens")) if tok.get("status") == "ran" else None
    if corpus.get("status") == "measured":
        corpus["tokens"] = tokens
    tok_details = tok.get("details") or {} if tok.get("status") == "ran" else {}
    return {
        "name": recipe_dict.get("run", {}).get("name", "webtext"),
        "pretty_name": cfg.pretty_name or recipe_dict.get("run", {}).get("name", "webtext"),
        "generator": f"webtext {__version__}",
        "stages": stages,
        "funnel": funnel(stages),
        "corpus": corpus,
        "tokens": tokens,
        "tokenizer_source": shown_path(tok_details.get("tokenizer_source"), run),
        "token_shards": _token_shards(run) if tok.get("status") == "ran" else {"status": NOT_RUN},
        "links": output("links", "links", run.stage_dir("links"), profile_links, cfg.top_k),
        "fetch_log": output("fetch", "fetch log", join(run.stage_dir("fetch"), "fetch_log"), profile_fetch_log),
        "clusters": output("dedup", "clusters", join(run.stage_dir("dedup"), CLUSTERS_DIR), profile_clusters),
        "contamination": ({"status": DID_NOT_FINISH} if "contamination" in unfinished
                          else _contamination(run, stages.get("contamination", {}))),
        "decontamination": _decontamination(run),
        "recipe": recipe_dict,
        "recipe_shown": published_values(recipe_dict, run),
        "recipe_source": recipe_source,
        "datacard": dataclasses.asdict(cfg),
        "versions": _versions(stages),
    }


# =========================================================================== YAML header
def card_metadata(data: dict[str, Any]) -> dict[str, Any]:
    """The card's YAML header, in the Hub's dataset-card metadata vocabulary."""
    cfg = data["datacard"]
    corpus = data["corpus"]
    langs = measured_languages(data)  # never the recipe's: a setting is not what the corpus holds
    meta: dict[str, Any] = {"pretty_name": data["pretty_name"], "license": cfg["license"]}
    if cfg.get("license_name"):
        meta["license_name"] = cfg["license_name"]
    if cfg.get("license_link"):
        meta["license_link"] = cfg["license_link"]
    if langs:
        meta["language"] = langs
        meta["multilinguality"] = ["monolingual" if len(langs) == 1 else "multilingual"]
    meta["size_categories"] = [size_category(corpus.get("documents"))]
    meta["task_categories"] = ["text-generation"]
    meta["task_ids"] = ["language-modeling"]
    meta["annotations_creators"] = ["no-annotation"]
    meta["language_creators"] = ["found"]
    meta["source_datasets"] = ["original"]
    meta["tags"] = list(cfg.get("tags") or [])
    return meta


def measured_languages(data: dict[str, Any]) -> list[str]:
    """The ISO 639 codes of the corpus' documents, most documents first; [] when none was measured."""
    return [row[0] for row in data["corpus"].get("languages", []) if _is_iso639(row[0])]


def _languages_line(data: dict[str, Any]) -> str:
    """The card's Language(s): those measured in the corpus; when none could be, why, and what
    the filter that ran was set to keep, named as the recipe's setting."""
    langs = measured_languages(data)
    if langs:
        return ", ".join(langs)
    c = data["corpus"]
    if c.get("status") == "measured" and c["documents"]:
        return TODO  # documents without a language code: only the author can say
    why = {"measured": "none measured (the corpus has no documents)",
           "unreadable": "not measured (the corpus could not be read)"}.get(
        c.get("status"), "not measured (no document stage output)")
    asked = [str(lang) for lang in _param(data, "filter", "languages") or []]
    if asked and data["stages"].get("filter", {}).get("status") == "ran":
        why += f"; the recipe's setting `[filter] languages` asked for {', '.join(asked)}"
    return why


def _is_iso639(code: Any) -> bool:
    return isinstance(code, str) and 2 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.islower()


# =========================================================================== rendering helpers
def fmt_int(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else ("–" if n is None else str(n))


def fmt_pct(p: Any) -> str:
    return "–" if p is None else f"{p:.2f}%"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n:,} bytes ({n / size:.2f} {unit})"
    return f"{n:,} bytes"


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_time(ts: Any) -> str:
    """A time as the card shows it: UTC to the second in WARC-Date's form, ``2020-08-03T12:00:00Z``.

    Takes POSIX seconds (Reddit's ``created_utc``) or an ISO 8601 string (WARC-Date,
    ``fetched_at``; read by :func:`~corpus_tools.corpus_profile.parse_time`): a fraction of a
    second is dropped, an offset converted to UTC, no offset read as UTC. Anything else is shown
    as it is; ``None`` as ``–``."""
    if ts is None:
        return "–"
    try:
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            t = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
        elif (t := parse_time(ts)) is None:
            return str(ts)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):  # out of range: a damaged value is shown, not fatal
        return str(ts)


def _not_run(what: str, section: dict[str, Any]) -> str:
    if section.get("status") == "unreadable":
        return f"_{what}: could not be read ({section.get('error')})._"
    if section.get("status") == DID_NOT_FINISH:
        return f"_{what}: not measured: the stage that writes it did not finish (see the note at the top)._"
    return f"_{what}: not run (no output in this run directory)._"


def _figure(figures: dict[str, str], name: str, alt: str) -> str:
    return f"![{alt}]({figures[name]})\n\n" if name in figures else ""


def _sampling_answer(data: dict, reddit: bool, min_karma, ran: set[str]) -> str:
    start = f"karma ≥ {min_karma}" if reddit else "every record of the inputs"
    if "filter" in ran and _param(data, "filter", "quality_model"):
        alpha = _param(data, "filter", "quality_alpha")
        seed = _param(data, "run", "seed")
        return (f"{start}, then every filter in order; documents were sampled by the GPT-3 quality classifier's "
                f"Pareto rule (keep when pareto(α={alpha}) > 1 − score), seeded per document id (run seed {seed}), "
                f"so the sample is reproducible.")
    return f"Deterministic: {start}, then every filter in order; no random sampling."


def _param(data: dict[str, Any], section: str, key: str) -> Any:
    """A setting as the stage of that name recorded it in its stats (what ran), else the recipe's."""
    recorded = data["stages"].get(section, {}).get("parameters", {}).get(section)
    if isinstance(recorded, dict) and key in recorded:
        return recorded[key]
    return data["recipe"].get(section, {}).get(key)


# =========================================================================== measured sections
def _funnel_md(data: dict[str, Any], figures: dict[str, str]) -> str:
    rows = []
    for r in data["funnel"]:
        if r["kind"] in ("removed", "merged", "unexplained"):
            rows.append([f"&nbsp;&nbsp;− {r['step']}", fmt_int(r["count"]), f"{fmt_pct(r['pct_of_input'])} of stage input"])
        elif r["status"] != "ran":
            rows.append([f"**{r['step']}**", r["status"], ""])
        else:
            rows.append([f"**{r['step']}**", fmt_int(r["count"]), f"{fmt_pct(r['pct_of_start'])} of start"])
    note = ""
    if any(r["kind"] == "merged" for r in data["funnel"]):
        note = ("\n\nThe links stage counts posts in and canonical URLs out: the posts it kept, less those merged into "
                "the URL of another kept post, are its links.")
    return (_figure(figures, "funnel", "Funnel: records surviving each stage")
            + md_table(["step", "count", "share"], rows) + note)


def _stages_md(data: dict[str, Any]) -> str:
    rows = []
    for name, s in data["stages"].items():
        if s["status"] not in ("ran", DID_NOT_FINISH):
            rows.append([f"`{name}`", s["status"] if s["status"] != "unreadable" else f"unreadable: {s['error']}",
                         "", "", "", ""])
            continue
        reasons = ", ".join(f"{k}: {fmt_int(v)}" for k, v in s["reasons"].items()) or "none"
        elapsed = f"{s['elapsed_s']:.1f}" if isinstance(s["elapsed_s"], (int, float)) else "–"
        if s["status"] == DID_NOT_FINISH:  # what its stats recorded, marked as no finished output
            status = f"{DID_NOT_FINISH} (no `_SUCCESS`)"
        elif name == "contamination" and s["details"].get("configured") is False:
            status = f"ran ({NOT_CONFIGURED})"
        else:
            status = "ran"
        rows.append([f"`{name}`", status, fmt_int(s["records_in"]), fmt_int(s["records_out"]), reasons, elapsed])
    units = [f"{unit} ({name})" for name, unit in RECORD_UNITS
             if data["stages"].get(name, {}).get("status") in ("ran", DID_NOT_FINISH)]
    note = f"\n\nA record is what the stage reads: {'; '.join(units)}." if units else ""
    return md_table(["stage", "status", "records in", "records out", "not passed on, by reason", "seconds"], rows) + note


# What a record of each stage is (its stats' records_in / records_out / reasons).
RECORD_UNITS = (
    ("links", "a post in, a canonical URL out"), ("fetch", "a URL"), ("extract", "a WARC response or WET conversion record"),
    ("filter", "a document"), ("dedup", "a document"), ("bloom", "a document"), ("tokenize", "a document"),
    ("contamination", "a benchmark example"),
)


def _corpus_md(data: dict[str, Any], figures: dict[str, str]) -> str:
    c = data["corpus"]
    if c.get("status") != "measured":
        return _not_run("Corpus statistics", c)
    lw = c["length_words"]
    where = (f"Measured on `{c['source']}` ({_n(c['shards'], 'Parquet shard')}"
             + ("" if c["source_stage"] == "dedup" else "; the final `dedup/` corpus is absent, so this is the latest document stage present") + ")")
    if not c["documents"]:
        return f"{where}: **no documents**, so there is no size, length, domain or language distribution to report."
    out = [
        where + ".",
        "",
        md_table(["measure", "value"], [
            ["documents", fmt_int(c["documents"])],
            ["words (whitespace-separated)", fmt_int(c["words"])],
            ["characters", fmt_int(c["chars"])],
            ["bytes (UTF-8)", fmt_bytes(c["bytes"])],
            ["tokens", fmt_int(c["tokens"]) if c.get("tokens") is not None else "not tokenized (tokenize not run)"],
            ["distinct domains", fmt_int(c["distinct_domains"])],
        ]),
        "",
        "#### Length distribution (words per document)",
        "",
        _figure(figures, "lengths", "Histogram of words per document").rstrip("\n"),
        "",
        md_table(["min", *lw["percentiles"].keys(), "max", "mean"],
                 [[fmt_int(lw["min"]), *lw["percentiles"].values(), fmt_int(lw["max"]), lw["mean"]]]),
        "",
        md_table(["words", "documents"],
                 [[f"{b['lo']:,}" if b["lo"] == b["hi"] else f"{b['lo']:,}–{b['hi']:,}", fmt_int(b["count"])]
                  for b in lw["histogram"]]),
        "",
        f"#### Top {_n(len(c['top_domains']), 'domain')} (documents)",
        "",
        _figure(figures, "domains", "Top domains by documents").rstrip("\n"),
        "",
        md_table(["domain", "documents", "share"],
                 [[d, fmt_int(n), fmt_pct(_pct(n, c["documents"]))] for d, n in c["top_domains"]]),
        "",
        "#### Languages",
        "",
        _figure(figures, "languages", "Documents by language").rstrip("\n"),
        "",
        md_table(["language", "documents", "share", "words (whitespace-separated)", "characters"],
                 [[row[0], fmt_int(row[1]), fmt_pct(_pct(row[1], c["documents"])), fmt_int(row[2]),
                   fmt_int(row[3]) if len(row) > 3 else "—"]  # no characters in a card.json of an older webtext
                  for row in c["languages"]]),
    ]
    return "\n".join(out).replace("\n\n\n\n", "\n\n")


def _links_md(data: dict[str, Any]) -> str:
    ln = data["links"]
    if ln.get("status") != "measured":
        return _not_run("Link statistics", ln)
    return "\n".join([
        f"{_n(ln['links'], 'canonical URL')} from {_n(ln['posts'], 'post')} (karma summed: "
        f"{fmt_int(ln['score_sum'])}), {_n(ln['distinct_domains'], 'domain')}, "
        f"{_n(ln['distinct_subreddits'], 'subreddit')}; posts from {fmt_time(ln['first_seen'])} to {fmt_time(ln['last_seen'])}.",
        "",
        md_table(["subreddit", "links"], [[f"r/{s}", fmt_int(n)] for s, n in ln["top_subreddits"]]),
        "",
        md_table(["link domain", "links"], [[d, fmt_int(n)] for d, n in ln["top_domains"]]),
    ])


def _fetch_md(data: dict[str, Any]) -> str:
    f = data["fetch_log"]
    if f.get("status") != "measured":
        return _not_run("Fetch outcomes", f)
    return "\n".join([
        f"{_n(f['urls'], 'URL')} tried between {fmt_time(f['first_fetch'])} and {fmt_time(f['last_fetch'])}; "
        f"{fmt_bytes(f['bytes'])} received; {_n(f['truncated'], 'response')} truncated at the size limit.",
        "",
        md_table(["outcome", "URLs", "share"], [[r, fmt_int(n), fmt_pct(_pct(n, f["urls"]))] for r, n in f["reasons"]]),
        "",
        md_table(["HTTP status", "URLs"], [[s, fmt_int(n)] for s, n in f["statuses"]]),
    ])


def _clusters_md(data: dict[str, Any]) -> str:
    c = data["clusters"]
    if c.get("status") != "measured":
        return _not_run("Duplicate clusters", c)
    if not c["clusters"]:
        return "No duplicate clusters: deduplication found no duplicates (`dedup/_clusters/` has no rows)."
    return "\n".join([
        f"{_n(c['clusters'], 'duplicate cluster')} covering {_n(c['documents'], 'document')}; one document is "
        f"kept per cluster, so {fmt_int(c['removed'])} were removed. Largest cluster: {fmt_int(c['max_size'])} "
        f"documents; mean size {c['mean_size']}. The similarity column is, per kind, the mean Jaccard similarity "
        "of a cluster's other documents to the kept one as their MinHash signatures estimate it (recorded with "
        "each cluster, whatever decided the duplicates: exact duplicates are found by equal text, URL duplicates "
        "by equal URL, near duplicates as the processing step above says).",
        "",
        md_table(["kind", "clusters", "documents", "removed", "mean estimated similarity to the kept document"],
                 [[k, fmt_int(v["clusters"]), fmt_int(v["documents"]), fmt_int(v["removed"]),
                   v["mean_similarity"] if v.get("mean_similarity") is not None else "–"]
                  for k, v in c["by_kind"].items()]),
        "",
        md_table(["cluster size", "clusters"],
                 [[f"{b['lo']:,}" if b["lo"] == b["hi"] else f"{b['lo']:,}–{b['hi']:,}", fmt_int(b["count"])]
                  for b in c["size_histogram"]]),
    ])


def _contamination_md(data: dict[str, Any], figures: dict[str, str]) -> str:
    c = data["contamination"]
    if c.get("status") == NOT_CONFIGURED:
        return ("_Benchmark contamination: the contamination stage ran with no benchmark configured "
                "(`[contamination] benchmarks` is empty), so no overlap was measured._")
    if c.get("status") != "measured":
        return _not_run("Benchmark contamination", c)
    method = (f"{c['n']}-gram overlap with the corpus" if c.get("n") else "n-gram overlap with the corpus") + (
        f" measured with a Bloom filter (false-positive rate {c['fpr']:g})" if isinstance(c.get("fpr"), (int, float)) else "")
    if c.get("exact"):
        method += ", confirmed by exact matching"
    rows = [[b["name"], fmt_int(b["examples"]), fmt_int(b["ngrams"]), fmt_int(b["ngrams_found"]),
             fmt_pct(b["percent_found"]), fmt_int(b["dirty_examples"]), fmt_int(b.get("dirty_n"))] for b in c["benchmarks"]]
    return "\n".join([
        f"Test-set {method} (GPT-2 §4 / GPT-3 appendix C). An example is dirty when any run of N consecutive words "
        "of it (an N-gram; N per benchmark, GPT-3's rule) is found in the corpus.",
        "",
        _figure(figures, "contamination", "Share of benchmark n-grams found in the corpus").rstrip("\n"),
        "",
        md_table(["benchmark", "examples", "n-grams", "n-grams found", "% found", "dirty examples",
                  "N (words per N-gram)"], rows),
    ])


def _decontamination_md(data: dict[str, Any]) -> str:
    d = data.get("decontamination") or {"status": NOT_RUN}
    if d.get("status") != "measured":
        return _not_run("Decontamination (`webtext decontaminate --run RUN`)", d)
    removed = d["chars_removed"]
    return "\n".join([
        f"`webtext decontaminate` (GPT-3 appendix C) removed every {d['n']}-gram shared with "
        f"{', '.join(d['benchmarks']) or 'the test sets'}, with {d['window']} characters either side, from a copy "
        f"of the corpus{', written to ' + d['output_shown'] if d.get('output_shown') else ''}; {d['n']}-grams found in more "
        f"than {d['max_doc_freq']} documents were ignored, pieces under {d['min_piece']} characters and documents "
        f"cut more than {d['max_splits']} times were dropped. The numbers above describe the corpus before this step.",
        "",
        md_table(["measure", "count"], [
            ["documents in", fmt_int(d["documents_in"])],
            ["documents untouched", fmt_int(d["documents_clean"])],
            ["documents cut", fmt_int(d["documents_split"])],
            ["documents dropped: cut too often", fmt_int(d["documents_dropped_too_many_splits"])],
            ["documents dropped: all pieces too short", fmt_int(d["documents_dropped_all_pieces_short"])],
            ["records rejected: not documents (no id or text, a value of the wrong type)",
             fmt_int(d["documents_rejected"])],
            ["pieces kept (new documents)", fmt_int(d["pieces_out"])],
            ["pieces dropped (too short)", fmt_int(d["pieces_dropped_short"])],
            ["documents out (untouched + pieces)", fmt_int(d["documents_out"])],
            ["characters removed", f"{fmt_int(removed)} of {fmt_int(d['chars_in'])} ({fmt_pct(_pct(removed, d['chars_in']))})"],
            [f"test-set {d['n']}-grams", fmt_int(d["benchmark_ngrams"])],
            [f"{d['n']}-grams found in the corpus", fmt_int(d["ngrams_colliding"])],
            [f"{d['n']}-grams ignored (in > {d['max_doc_freq']} documents)", fmt_int(d["ngrams_ignored_frequent"])],
        ]),
    ])


def _reproducibility_md(data: dict[str, Any]) -> str:
    v = data["versions"]
    rows = [[pkg, ", ".join(v["stages"].get(pkg, [])) or "–", v["card"].get(pkg, "–")]
            for pkg in sorted(set(v["stages"]) | set(v["card"]))]
    shown = data["recipe_shown"]
    recipe_toml = tomli_w.dumps(_drop_none(shown))
    paths = ("; its paths are shown as everywhere in this card, inside the run directory relative to it and a "
             "local file or folder elsewhere by its name alone" if shown != data["recipe"] else "")
    return "\n".join([
        f"The full recipe, from {data['recipe_source']}; rerunning `webtext run` with it on the same inputs "
        f"is meant to give the same corpus bytes (webtext's determinism contract){paths}:",
        "",
        "```toml",
        recipe_toml.rstrip("\n"),
        "```",
        "",
        md_table(["library", "version used by the stages", "version that wrote this card"], rows),
    ])


def _drop_none(d: dict) -> dict:
    return {k: (_drop_none(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}


def _schema_md() -> str:
    docs = {
        "id": "128-bit hash of URL and text (stable document id)", "url": "page URL", "domain": "lower-case host without `www.`",
        "text": "extracted main text", "title": "page title", "date": "publication date found by the extractor",
        "source": "input kind (warc, wet, text)", "fetch_time": "WARC-Date of the capture",
        "warc_file": "WARC file holding the raw response", "warc_offset": "byte offset of that record",
        "warc_record_id": "WARC-Record-ID", "http_status": "HTTP status of the response",
        "content_type": "Content-Type of the response", "charset": "character set used to decode",
        "extractor": "which extractor produced `text`", "language": "ISO 639 code from language ID",
        "language_score": "language-ID probability", "quality_score": "quality-classifier P(curated)",
        "score_sum": "Reddit karma summed over posts linking here", "subreddits": "subreddits that linked here",
        "dedup_cluster": "id of the duplicate cluster (exact, URL or near) it was kept from, if any", "metadata": "JSON object with anything else",
    }
    rows = [[f"`{f.name}`", str(f.type), "no" if not f.nullable else "yes", docs.get(f.name, "")] for f in DOC_SCHEMA]
    return md_table(["column", "type", "nullable", "meaning"], rows)


# =========================================================================== wording that follows the run
def _n(count: Any, singular: str, plural: str | None = None) -> str:
    """``1 domain``, ``2 domains``, ``– domains`` (count unknown)."""
    return f"{fmt_int(count)} {singular if count == 1 else plural or singular + 's'}"


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def source_kind(ran: set[str]) -> str:
    """Where the pages came from: ``reddit`` (links stage), ``urls`` (fetch without links), ``archives`` (WARC/WET input)."""
    if "links" in ran:
        return "reddit"
    return "urls" if "fetch" in ran else "archives"


def provenance(kind: str, ran: set[str]) -> list[tuple[Paper, str]]:
    """The published corpus recipes the run followed, each with what of it: GPT-2's WebText for a run
    that started from Reddit links; GPT-3's Common Crawl processing for its filter and dedup stages."""
    out = []
    if kind == "reddit":
        out.append((RADFORD_2019, "WebText: the pages Reddit posts link to, selected by karma"))
    cc = [what for stage, what in (("filter", "filtering"), ("dedup", "fuzzy deduplication")) if stage in ran]
    if cc:
        out.append((BROWN_2020, f"the {_and(cc)} of GPT-3's Common Crawl processing"))
    return out


def _follows_gpt3(kind: str, ran: set[str]) -> bool:
    """Whether the run did a part of GPT-3's Common Crawl processing (its filter or dedup ran)."""
    return any(paper is BROWN_2020 for paper, _ in provenance(kind, ran))


def _paper_line(kind: str, ran: set[str]) -> str:
    followed = provenance(kind, ran)
    if followed:
        return "; ".join(f"{paper.reference} ({what})" for paper, what in followed)
    return ("none: no stage of a published corpus recipe ran (GPT-2's WebText starts from Reddit links; GPT-3's "
            "Common Crawl processing filters and deduplicates)")


def _bibtex_md(kind: str, ran: set[str]) -> str:
    followed = [paper.bibtex for paper, _ in provenance(kind, ran)]
    out = ["The run followed (see Paper):\n", "```bibtex\n" + "\n".join(followed) + "\n```\n"] if followed else []
    return "\n".join(out + ["The datasheet answers the questions of:\n", f"```bibtex\n{GEBRU_2021.bibtex}\n```\n"])


def contamination_state(data: dict[str, Any]) -> str:
    """``measured``, ``no benchmark configured``, ``unreadable`` or ``not run``."""
    return data["contamination"].get("status", NOT_RUN)


def _dedup_desc(data: dict[str, Any]) -> str:
    steps = []
    if _param(data, "dedup", "exact"):
        steps.append("exact duplicates (equal text after normalisation)")
    if _param(data, "dedup", "url"):
        steps.append("URL duplicates (equal normalised URL)")
    t = _param(data, "dedup", "threshold")
    similarity = {"exact": f"Jaccard ≥ {t}, computed exactly for each LSH candidate pair",
                  "estimate": f"MinHash-estimated Jaccard ≥ {t}",
                  "none": f"every LSH candidate pair for Jaccard {t}, unverified"}.get(
        _param(data, "dedup", "verify"), f"Jaccard ≥ {t}")
    steps.append(f"MinHash LSH near duplicates ({similarity}; {_param(data, 'dedup', 'num_perm')} permutations, "
                 f"{_param(data, 'dedup', 'ngram')}-word shingles)")
    return "removal of " + ", then ".join(steps)


DUPLICATE_REASONS = (("exact_duplicate", "exact duplicate"), ("url_duplicate", "URL duplicate"),
                     ("near_duplicate", "near-duplicate"))


def _duplicates_answer(data: dict[str, Any], ran: set[str]) -> str:
    """How many duplicates of each kind dedup removed (its reasons) and in how many clusters (its cluster table)."""
    if "dedup" not in ran:
        return "Deduplication was not run: the corpus may hold duplicates."
    reasons = data["stages"]["dedup"]["reasons"]
    removed = [_n(reasons[key], label) for key, label in DUPLICATE_REASONS if reasons.get(key)]
    line = f"Deduplication removed {_and(removed)}" if removed else "Deduplication removed no duplicates"
    cl = data["clusters"]
    if cl.get("status") == "measured" and cl["clusters"]:
        kinds = ", ".join(f"{fmt_int(v['clusters'])} {k}" for k, v in cl["by_kind"].items())
        line += f" from {_n(cl['clusters'], 'cluster')} ({kinds})"
    return f"{line}; its method: {_dedup_desc(data)}."


def _extract_step(data: dict[str, Any], kind: str) -> str:
    extractor, favor = _param(data, "extract", "extractor"), _param(data, "extract", "favor")
    if extractor == "combined":
        how = (f"trafilatura (favor: {favor}), with newspaper3k when trafilatura's text is shorter than "
               f"{_n(_param(data, 'extract', 'fallback_chars'), 'character')} (the longer text wins)")
        if _param(data, "extract", "gap_lines"):
            how += (f", and page text dropped between two kept paragraphs put back (gaps of at most "
                    f"{_n(_param(data, 'extract', 'gap_lines'), 'line')} and "
                    f"{_n(_param(data, 'extract', 'gap_chars'), 'character')})")
    elif extractor == "trafilatura":
        how = f"trafilatura alone (favor: {favor})"
    else:
        how = f"{extractor} alone" if extractor else "the extractor the run used (not recorded)"
    min_chars = _param(data, "extract", "min_chars")
    dropped = ("pages with no extracted text dropped" if not isinstance(min_chars, int) or min_chars <= 1
               else f"pages with fewer than {min_chars:,} characters of text dropped")
    wet = "; WET records' text taken as is" if kind == "archives" else ""
    return f"**extract** — main text of HTML responses extracted with {how}{wet}; {dropped}."


def _filter_step(data: dict[str, Any]) -> str:
    langs = ", ".join(_param(data, "filter", "languages") or []) or "all"
    rules = _param(data, "filter", "rules") or []
    line = (f"**filter** — language ID (kept: {langs}; probability ≥ {_param(data, 'filter', 'min_language_score')}), "
            + (f"quality rules ({', '.join(f'`{r}`' for r in rules)})" if rules else "no quality rules"))
    if _param(data, "filter", "quality_model"):
        line += f" and the GPT-3 quality classifier (Pareto α = {_param(data, 'filter', 'quality_alpha')})"
    return line + "."


def _fetch_step(data: dict[str, Any]) -> str:
    robots = "robots.txt honoured" if _param(data, "fetch", "obey_robots") else "robots.txt not consulted"
    return (f"**fetch** — each URL requested (up to {_n(_param(data, 'fetch', 'max_retries'), 'retry', 'retries')}) "
            f"politely ({robots}; per-site rate limits that redirects obey too; size and time limits), with the "
            f"User-Agent `{_param(data, 'fetch', 'user_agent')}`, into WARC files.")


def _decontaminate_step(data: dict[str, Any]) -> list[str]:
    """The step of `webtext decontaminate --run RUN`, when it recorded its counts in the run."""
    d = data.get("decontamination") or {}
    if d.get("status") == "measured":
        return [f"**decontaminate** — `webtext decontaminate` removed the {d['n']}-grams shared with "
                f"{', '.join(d['benchmarks']) or 'the test sets'} from a copy of the corpus (GPT-3 appendix C); "
                "see Decontamination."]
    if d.get("status") == "unreadable":
        return ["**decontaminate** — ran, but its stats could not be read (see Decontamination)."]
    return []


def _absent_step(data: dict[str, Any], stage: str, not_run: str = "not run.") -> str:
    """The processing step of a stage that did not make an output: it did not finish, or did not run."""
    if data["stages"].get(stage, {}).get("status") == DID_NOT_FINISH:
        return f"**{stage}** — did not finish: its stats were written, but not its `_SUCCESS` (see the note at the top)."
    return f"**{stage}** — {not_run}"


def _contamination_step(data: dict[str, Any]) -> str:
    state = contamination_state(data)
    if state == DID_NOT_FINISH:
        return _absent_step(data, "contamination")
    if state == "measured":
        names = ", ".join(str(b["name"]) for b in data["contamination"]["benchmarks"]) or "no benchmark"
        return (f"**contamination** — overlap of the corpus with the test sets of {names} measured "
                "(GPT-2 §4, GPT-3 appendix C); see Benchmark contamination.")
    if state == NOT_CONFIGURED:
        return "**contamination** — ran with no benchmark configured (`[contamination] benchmarks` is empty): no overlap was measured."
    if state == "unreadable":
        return "**contamination** — ran, but its report could not be read (see Benchmark contamination)."
    return "**contamination** — not run: no overlap with benchmarks was measured."


def _tokenize_details(data: dict[str, Any]) -> dict[str, Any]:
    tok = data["stages"].get("tokenize", {})
    return tok.get("details") or {} if tok.get("status") == "ran" else {}


def _tokenize_step(data: dict[str, Any]) -> str:
    d = _tokenize_details(data)
    vocab = _int_or_none(d.get("vocab_size"))
    entries = _n(vocab, "vocabulary entry", "vocabulary entries") if vocab is not None else "vocabulary size not recorded"
    if d.get("tokenizer_source"):
        shown = data.get("tokenizer_source") or f"`{d['tokenizer_source']}`"
        how = f"the given tokenizer {shown} ({entries}; the run keeps a copy in `tokenizer/`)"
    else:
        asked = _param(data, "tokenize", "vocab_size")
        how = f"byte-level BPE trained on the corpus ({entries}" + (
            f"; the recipe allowed up to {fmt_int(asked)}, the corpus supported no more)"
            if isinstance(asked, int) and vocab is not None and vocab < asked else ")")
    tokens = _int_or_none(d.get("tokens"))
    if tokens == 0:
        return f"**tokenize** — {how}; no tokens: the corpus it read has no text."
    return (f"**tokenize** — {how}; {_n(tokens, 'token')} written as llm.c-format shards, "
            f"{_val_shards(data)} held out for validation.")


def _val_shards(data: dict[str, Any]) -> str:
    """The validation shards as the tokens' manifest lists them: ``3 token shards (`*_val_*.bin`, the first 3)``."""
    shards = data.get("token_shards") or {}
    n = shards.get("val") if shards.get("status") == "measured" else None
    if n is None:
        return "the `*_val_*.bin` token shards"
    return f"{_n(n, 'token shard')} (`*_val_*.bin`, the first{'' if n == 1 else f' {n}'})"


def _splits_answer(data: dict[str, Any], ran: set[str]) -> str:
    if "tokenize" not in ran:
        return "No splits are defined; all documents form one `train` split."
    d = _tokenize_details(data)
    if not _int_or_none(d.get("tokens")):
        return "No split: tokenize ran on a corpus with no tokens."
    shards = data.get("token_shards") or {}
    train = (f"{_n(shards['train'], 'token shard')} (`*_train_*.bin`)" if shards.get("status") == "measured"
             else "the `*_train_*.bin` token shards")
    return (f"The validation split is {_val_shards(data)}: {_n(_int_or_none(d.get('val_documents')), 'document')}, "
            f"{_n(_int_or_none(d.get('val_tokens')), 'token')}; the training split is {train}: "
            f"{_n(_int_or_none(d.get('train_tokens')), 'token')}. The Parquet documents are not split.")


def _uses_answer(data: dict[str, Any], ran: set[str]) -> str:
    """Tokenized by this run only when its tokenize stage produced tokens (or did not record how many)."""
    if "tokenize" not in ran:
        return TODO
    if _int_or_none(_tokenize_details(data).get("tokens")) == 0:
        return f"Not by this run: its tokenize stage ran and produced no tokens (the corpus it read has no text). {TODO}"
    return "Tokenized for language-model training by this run."


def _timeframe_answer(data: dict[str, Any]) -> str:
    """The time spans the run measured, each with where it was measured; else why none was measured."""
    spans = []
    ln, f, c = data["links"], data["fetch_log"], data["corpus"]
    if ln.get("status") == "measured" and ln.get("first_seen") is not None:
        spans.append(f"Reddit posts from {fmt_time(ln['first_seen'])} to {fmt_time(ln['last_seen'])} (`links/`, first_seen/last_seen)")
    if f.get("status") == "measured" and f.get("first_fetch"):
        spans.append(f"pages fetched from {fmt_time(f['first_fetch'])} to {fmt_time(f['last_fetch'])} (`warc/fetch_log/`)")
    ct = c.get("capture_times") or {}
    if c.get("status") == "measured" and ct.get("documents_with_time"):
        spans.append(f"the corpus' documents captured from {fmt_time(ct['first'])} to {fmt_time(ct['last'])} "
                     "(WARC-Date in `fetch_time`, "
                     f"{fmt_int(ct['documents_with_time'])} of {_n(c['documents'], 'document')} in `{c['source']}` have one)")
    if spans:
        text = "; ".join(spans)
        return text[0].upper() + text[1:] + "."
    if c.get("status") != "measured":
        why = "no document stage output to read capture times from"
    elif not c["documents"]:
        why = "the corpus has no documents to read capture times (`fetch_time`) from"
    elif ct.get("status") == "unreadable":
        why = f"the capture times could not be read ({ct.get('error')})"
    else:
        why = "no document of the corpus has a capture time (`fetch_time`)"
    return f"Not measured: {why}."


def _consent_answer(data: dict[str, Any], ran: set[str]) -> str:
    if data["stages"].get("fetch", {}).get("status") == DID_NOT_FINISH:
        return "No page is part of this run yet: its fetch did not finish (see the note at the top)."
    if "fetch" in ran:
        return "No: web pages were collected without notifying their authors; " + (
            "robots.txt was honoured." if _param(data, "fetch", "obey_robots") else "robots.txt was not consulted.")
    return f"Not by this run, which read web archives it did not crawl; for the crawl itself: {TODO}"


def _raw_data_answer(ran: set[str]) -> str:
    kept = [what for stage, what in (
        ("fetch", "the HTTP responses in the run's WARC files (`warc/`)"),
        ("extract", "a dead letter (source, offset, reason) for each record that gave no document (`docs/_rejected/`)"),
        ("filter", "the documents the filters removed (`filtered/_removed/<reason>/`)"),
        ("dedup", "the duplicates removed (`dedup/_removed/<reason>/`)"),
    ) if stage in ran]
    return ("Yes, in the run directory: " + "; ".join(kept) + "." if kept else
            "No: no stage that keeps raw or removed data ran.")


def _rationale(data: dict[str, Any], kind: str, ran: set[str]) -> str:
    if kind == "reddit":
        first = (f"Following GPT-2, outbound links that Reddit users posted and up-voted (karma summed per URL ≥ "
                 f"{_param(data, 'links', 'min_karma')}, a heuristic quality signal) select pages without manual labelling.")
    elif kind == "urls":
        first = f"The pages are those of a URL list given to the run; how that list was chosen: {TODO}."
    else:
        first = ("Following GPT-3's use of Common Crawl, web archives (WARC/WET files) give broad coverage of the web "
                 "without manual selection; their text is of uneven quality, so it is cleaned before use.")
    steps = [what for stage, what in (("extract", "main-text extraction"), ("filter", "language and quality filters"),
                                      ("dedup", "duplicate removal (GPT-3 §2.2)")) if stage in ran]
    out = [first]
    if steps:
        out.append(f"This run applied {_and(steps)} to raise quality.")
    state = contamination_state(data)
    out.append("Benchmark overlap was measured so that evaluations can be checked (see Benchmark contamination)."
               if state == "measured" else
               f"Benchmark overlap was not measured ({'no benchmark configured' if state == NOT_CONFIGURED else 'contamination ' + state}).")
    return " ".join(out)


def _bias(data: dict[str, Any], kind: str, ran: set[str]) -> str:
    c = data["corpus"]
    head = {"reddit": "The corpus reflects what Reddit users link to",
            "urls": "The corpus reflects the URL list it was fetched from",
            "archives": "The corpus reflects what the archives' crawler captured"}[kind]
    clauses = []
    if c.get("status") == "measured" and c["documents"] and c["top_domains"]:
        clauses.append(f"its documents come from {_n(c['distinct_domains'], 'domain')}, the most frequent holding "
                       f"{fmt_pct(_pct(c['top_domains'][0][1], c['documents']))} of them (see Top domains)")
    if "filter" in ran:
        clauses.append("it holds only the languages its filter kept")
    if kind == "reddit":
        clauses.append("it may be skewed towards the interests and demographics of Reddit's users")
    out = head + (" — " + "; ".join(clauses) + " —" if clauses else "") + (
        " and inherits the biases, errors and offensive content of web text. ")
    if "fetch" in ran:
        out += "Pages that blocked crawlers, failed to fetch or could not be extracted are missing (see Fetch outcomes and the funnel). "
    elif "extract" in ran:
        out += "Pages the archives' crawler did not capture are missing, and so are records that could not be extracted (see the funnel). "
    if "filter" in ran:
        out += "Quality filters are heuristics and can remove dialects or minority-language text disproportionately."
    return out.rstrip()


def _recommendations(data: dict[str, Any]) -> str:
    if contamination_state(data) == "measured":
        return "Check the contamination table before reporting results on those benchmarks; filter further for your use."
    return ("Benchmark overlap was not measured for this corpus: measure it (`[contamination] benchmarks`, then the "
            "contamination stage) before reporting results on any benchmark; filter further for your use.")


# =========================================================================== the card
def render_card(data: dict[str, Any], figures: dict[str, str] | None = None) -> str:
    """The dataset card (``README.md``): YAML header, HF template sections, datasheet answers."""
    from huggingface_hub import DatasetCardData

    figures = figures or {}
    cfg = data["datacard"]
    meta = card_metadata(data)
    header = DatasetCardData(**meta).to_yaml()
    c = data["corpus"]
    measured = c.get("status") == "measured"
    stages = data["stages"]
    ran = {k for k, s in stages.items() if s["status"] == "ran"}
    unfinished = [k for k, s in stages.items() if s["status"] == DID_NOT_FINISH]
    n_docs = fmt_int(c["documents"]) if measured else "unknown (no document stage output)"
    min_karma = _param(data, "links", "min_karma")
    kind = source_kind(ran | set(unfinished))  # where the run started, finished there or not
    reddit = kind == "reddit"
    steps = [verb for stage, verb in (("fetch", "fetched"), ("extract", "extracted"), ("filter", "filtered"),
                                      ("dedup", "deduplicated")) if stage in ran]
    done = _and(steps) or "not yet processed"
    summary = (
        f"{data['pretty_name']} is a web-text pretraining corpus built with webtext "
        + {"reddit": "following the WebText recipe of GPT-2 (Radford et al., 2019): outbound links of Reddit posts "
                     f"whose karma, summed per URL, is at least {min_karma}, {done}. ",
           "urls": f"from the pages of a URL list, {done}. ",
           "archives": f"from web archives (WARC/WET), {done}"
                       + (" in the manner of GPT-3's Common Crawl processing (Brown et al., 2020)"
                          if _follows_gpt3(kind, ran) else "") + ". "}[kind]
        + ("" if not measured else
           f"It holds {n_docs} documents, {fmt_int(c['words'])} words and {fmt_bytes(c['bytes'])} of text." if c["documents"]
           else "It holds no documents: every record was removed before the end of the pipeline (see the funnel).")
    ).rstrip()  # no corpus measured: the sentence about it is absent, and so is the space before it
    processing = "\n".join(f"{i}. {line}" for i, line in enumerate([
        (f"**links** — Reddit submissions were reduced to canonical outbound URLs; a URL is kept when the karma summed "
         f"over its posts is at least {min_karma} (NSFW posts {'kept' if _param(data, 'links', 'keep_nsfw') else 'dropped'})."
         if "links" in ran else _absent_step(data, "links", "not run (the run did not start from Reddit dumps).")),
        _fetch_step(data) if "fetch" in ran else _absent_step(data, "fetch"),
        _extract_step(data, kind) if "extract" in ran else _absent_step(data, "extract"),
        _filter_step(data) if "filter" in ran else _absent_step(data, "filter"),
        (f"**dedup** — {_dedup_desc(data)}." if "dedup" in ran else _absent_step(data, "dedup")),
        (f"**bloom** — an {_param(data, 'bloom', 'n')}-gram Bloom filter of the corpus (false-positive rate "
         f"{_param(data, 'bloom', 'fpr')}), what benchmark overlap is looked up in (GPT-2 §4)." if "bloom" in ran
         else _absent_step(data, "bloom")),
        _contamination_step(data),
        _tokenize_step(data) if "tokenize" in ran else _absent_step(data, "tokenize"),
        *_decontaminate_step(data),
    ], 1))
    incomplete = "" if not unfinished else (
        f"> **This run is incomplete:** {_and([f'`{k}`' for k in unfinished])} did not finish (its stats were "
        "written, but not its `_SUCCESS`): the card lists it as such and describes none of its outputs. Finish the "
        "run (`webtext run --out RUN` again) and make the card again before publishing it.\n")

    def answer(v: Any) -> str:
        return TODO if v in (None, "", []) else str(v)

    splits = _splits_answer(data, ran)
    dup_line = _duplicates_answer(data, ran)

    datasheet = {
        "Motivation": [
            ("For what purpose was the dataset created?",
             {"reddit": "To pretrain language models on web text that Reddit users linked to, in the manner of GPT-2's WebText. ",
              "urls": "To pretrain language models on the web pages of a URL list. ",
              "archives": "To pretrain language models on web-archive text"
                          + (", in the manner of GPT-3's Common Crawl processing. " if _follows_gpt3(kind, ran) else ". "),
              }[kind] + (cfg.get("purpose") or f"Specific purpose: {TODO}")),
            ("Who created the dataset and on behalf of which entity?", answer(cfg.get("curated_by"))),
            ("Who funded the creation of the dataset?", TODO),
        ],
        "Composition": [
            ("What do the instances represent?", "Web documents: the main text of one web page each, with its URL and provenance."),
            ("How many instances are there in total?",
             "No documents: the corpus is empty (see the funnel)." if measured and not c["documents"] else
             n_docs + (f" ({fmt_int(c['words'])} words, {fmt_int(c['tokens'])} tokens)" if measured and c.get("tokens") is not None else "")),
            ("Is it a sample of a larger set?",
             "Yes: what remains of " + {"reddit": "the pages linked from Reddit posts with enough karma",
                                        "urls": "the pages of the URL list",
                                        "archives": "the records of the input archives"}[kind]
             + f" after the stages that ran ({done}); the funnel gives every count."),
            ("What data does each instance consist of?", "Raw text plus metadata; see Dataset Structure."),
            ("Is there a label or target associated with each instance?", "No."),
            ("Are there recommended data splits?", splits),
            ("Are there any errors, sources of noise, or redundancies?",
             f"Extraction errors (boilerplate kept or text lost) are possible. {dup_line}"),
            ("Is the dataset self-contained?",
             "No: documents are copies of third-party web pages; the URLs may change or disappear. The raw responses are "
             "kept in the run's WARC files." if "fetch" in ran else "No: documents are copies of third-party web pages."),
            ("Does the dataset contain data that might be considered confidential or offensive?",
             "Possibly. No PII removal and no toxicity filter ran in this pipeline"
             + ("; NSFW-marked Reddit posts were " + ("kept." if _param(data, "links", "keep_nsfw") else "dropped.") if reddit else ".")),
        ],
        "Collection Process": [
            ("How was the data associated with each instance acquired?",
             {"reddit": "Outbound links of Reddit submissions (Pushshift dumps), fetched over HTTP.",
              "urls": "URLs of a list given to the run, fetched over HTTP.",
              "archives": "Read from web archive files (WARC/WET) given to the run."}[kind]),
            ("What mechanisms or procedures were used to collect the data?",
             f"The webtext pipeline ({data['generator']}); see Data Collection and Processing and Reproducibility."),
            ("What was the sampling strategy?", _sampling_answer(data, reddit, min_karma, ran)),
            ("Over what timeframe was the data collected?", _timeframe_answer(data)),
            ("Were any ethical review processes conducted?", TODO),
            ("Were the individuals in question notified or did they consent?", _consent_answer(data, ran)),
        ],
        "Preprocessing / cleaning / labeling": [
            ("Was any preprocessing/cleaning/labeling of the data done?", "Yes, the numbered steps under Data Collection and Processing."),
            ("Was the raw data saved in addition to the preprocessed data?", _raw_data_answer(ran)),
            ("Is the software used to preprocess the data available?", f"Yes: {data['generator']} (Apache-2.0)."),
        ],
        "Uses": [
            ("Has the dataset been used for any tasks already?", _uses_answer(data, ran)),
            ("What (other) tasks could the dataset be used for?", "Language modeling; text statistics."),
            ("Are there tasks for which the dataset should not be used?", answer(cfg.get("out_of_scope"))),
        ],
        "Distribution": [
            ("Will the dataset be distributed to third parties?", TODO),
            ("Under what license is it distributed?",
             f"`{cfg['license']}` (the card's header). The texts remain the copyright of their authors."),
            ("Have any third parties imposed restrictions?", TODO),
        ],
        "Maintenance": [
            ("Who will be supporting/hosting/maintaining the dataset?", answer(cfg.get("curated_by"))),
            ("How can the owner/curator/manager be contacted?", answer(cfg.get("contact"))),
            ("Will the dataset be updated?", TODO),
        ],
    }
    datasheet_md = "\n\n".join(
        f"### {section}\n\n" + "\n".join(f"- **{q}** {a}" for q, a in qas) for section, qas in datasheet.items())

    parts = [
        f"---\n{header}\n---\n",
        f"# Dataset Card for {data['pretty_name']}\n",
        "<!-- Generated by `webtext datacard` from what the run measured. "
        f"Replace every {TODO} before publishing. -->\n",
        *([incomplete] if incomplete else []),
        summary + "\n",
        "## Dataset Details\n",
        "### Dataset Description\n",
        summary + " Every count and measurement in this card comes from the run (`stats/*.json` and the run's Parquet "
        "outputs); settings (thresholds, limits) are those the stages recorded, else the recipe's; `datacard.json` "
        "holds the same numbers for machines.\n",
        f"- **Curated by:** {answer(cfg.get('curated_by'))}",
        f"- **Funded by [optional]:** {TODO}",
        f"- **Language(s) (NLP):** {_languages_line(data)}",
        f"- **License:** {cfg['license']}\n",
        "### Dataset Sources\n",
        f"- **Repository:** {answer(cfg.get('repository'))}",
        f"- **Paper:** {_paper_line(kind, ran)}\n",
        "## Uses\n",
        "### Direct Use\n",
        "Pretraining and evaluating autoregressive language models (next-token prediction).\n",
        "### Out-of-Scope Use\n",
        "The corpus is unlabelled web text: it is not a source of facts, and it is not suitable for tasks that "
        "need the consent of the people it mentions. " + answer(cfg.get("out_of_scope")) + "\n",
        "## Dataset Structure\n",
        "One Parquet table of documents (shards `part-SSSSS-of-NNNNN.parquet`, one row per document, sorted by `id`):\n",
        _schema_md() + "\n",
        "### Measured composition\n",
        _corpus_md(data, figures) + "\n",
        "### Duplicate clusters\n",
        _clusters_md(data) + "\n",
        "## Dataset Creation\n",
        "### Curation Rationale\n",
        _rationale(data, kind, ran) + "\n",
        "### Source Data\n",
        "#### Data Collection and Processing\n",
        processing + "\n",
        "##### Funnel\n",
        _funnel_md(data, figures) + "\n",
        "##### Stages\n",
        _stages_md(data) + "\n",
        "##### Links\n",
        _links_md(data) + "\n",
        "##### Fetch outcomes\n",
        _fetch_md(data) + "\n",
        "#### Who are the source data producers?\n",
        "The authors of the " + ("linked " if kind != "archives" else "archived ") + "web pages (unknown individuals and organisations)"
        + (", selected by the Reddit users who posted and up-voted the links." if reddit else ".") + "\n",
        "#### Personal and Sensitive Information\n",
        "The documents are public web pages and may contain names, contact details and other personal information "
        "of the people they mention. This run did not remove or anonymise personal information.\n",
        "## Bias, Risks, and Limitations\n",
        _bias(data, kind, ran) + "\n",
        "### Benchmark contamination\n",
        _contamination_md(data, figures) + "\n",
        "#### Decontamination\n",
        _decontamination_md(data) + "\n",
        "### Recommendations\n",
        _recommendations(data) + "\n",
        "## Datasheet\n",
        "Answers to the questions of *Datasheets for Datasets* (Gebru et al., 2021) from the recipe and the run's "
        f"measurements; {TODO} marks what only the author can answer.\n",
        datasheet_md + "\n",
        "## Reproducibility\n",
        _reproducibility_md(data) + "\n",
        "## Citation\n",
        "**BibTeX:**\n",
        "```bibtex\n" + (cfg.get("citation") or f"{TODO}: how to cite this dataset") + "\n```\n",
        _bibtex_md(kind, ran),
        "## Dataset Card Authors\n",
        answer(cfg.get("curated_by")) + "\n",
        "## Dataset Card Contact\n",
        answer(cfg.get("contact")) + "\n",
    ]
    return "\n".join(parts)


# =========================================================================== writing
def _write_bytes(run: RunDir, path: str, data: bytes) -> None:
    if "://" in path and not path.startswith("file://"):
        import fsspec

        with fsspec.open(path, "wb") as fh:
            fh.write(data)
        return
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as fh:
        fh.write(data)
    os.replace(path + ".tmp", path)


def write_datacard(root: str, recipe: Recipe | None = None, out_dir: str | None = None) -> dict[str, Any]:
    """Gather, draw the figures, write ``card/README.md``, ``card/datacard.json``, ``card/figures/*.png``.

    Returns the gathered data with ``figures`` (name → path relative to the card folder).
    """
    from corpus_tools.datacard_figures import render_figures

    run = RunDir(root)
    out = out_dir or run.stage_dir("datacard")
    data = gather(root, recipe)
    figures = {}
    for name, png in render_figures(data).items():
        rel = f"figures/{name}.png"
        _write_bytes(run, join(out, "figures", f"{name}.png"), png)
        figures[name] = rel
    data["figures"] = figures
    public = published_json(data, run)
    run.write_text(join(out, "datacard.json"), json.dumps(public, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    run.write_text(join(out, "README.md"), render_card(data, figures))
    return data
