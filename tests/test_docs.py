"""The docs must stay true to the code: generated pages are current, and every command flag, recipe
key, parameter default, repository path and dotted name the docs mention exists (as a user who
copies them would find out otherwise)."""

import argparse
import dataclasses
import importlib
import re
import tomllib
from pathlib import Path

import pytest

from corpus_tools.recipe import Recipe, recipe_docs_markdown
from pipelines.options import unknown_beam_flags
from pipelines.webtext import BEAM_COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "docs" / "stages").glob("*.md")) + [ROOT / "README.md"]
RECIPE = {f.name: {g.name: getattr(getattr(Recipe(), f.name), g.name) for g in dataclasses.fields(getattr(Recipe(), f.name))}
          for f in dataclasses.fields(Recipe)}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _code(text: str) -> list[str]:
    """Every code-block line and inline code span of a Markdown page (backslash continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", text)
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return lines + [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose)]


def test_recipe_reference_is_current():
    text = (ROOT / "docs" / "recipe.md").read_text()
    table = recipe_docs_markdown()
    assert table in text, "docs/recipe.md is stale: run `python -m corpus_tools.recipe > docs/recipe.md`"


def _webtext_calls(text: str) -> list[tuple[str, str]]:
    """(command, the rest of the line) of every ``webtext CMD ...`` (or ``-m pipelines.webtext CMD``) in code."""
    calls = []
    for line in _code(text):
        if "error:" in line:  # an error message quoted as an example (`--bogus`)
            continue
        for m in re.finditer(r"(?:^|[\s(])(?:webtext|-m pipelines\.webtext)\s+([a-z][\w-]*)(.*)", line):
            calls.append((m.group(1), m.group(2)))
    return calls


def test_every_webtext_command_and_flag_in_the_docs_exists():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    beam_flags = set(unknown_beam_flags([])[1])
    wrong, seen = [], 0
    for page in DOCS:
        for command, rest in _webtext_calls(page.read_text()):
            seen += 1
            if command not in commands:
                wrong.append(f"{_rel(page)}: webtext {command}: no such command")
                continue
            cmd, name, words = commands[command], f"webtext {command}", rest.split()
            subs = [a for a in cmd._actions if isinstance(a, argparse._SubParsersAction)]
            if subs and words and re.match(r"^[a-z]", words[0]):
                if words[0] not in subs[0].choices:
                    wrong.append(f"{_rel(page)}: {name} {words[0]}: no such sub-command")
                    continue
                cmd, name = subs[0].choices[words[0]], f"{name} {words[0]}"
            known = {flag for action in cmd._actions for flag in action.option_strings}
            for flag in re.findall(r"(?<![\w<-])(--[a-zA-Z][\w-]*)", rest.split(" #")[0]):
                if flag in known or (command in BEAM_COMMANDS and flag in beam_flags):
                    continue
                wrong.append(f"{_rel(page)}: {name} {flag}: the command has no such flag")
    assert seen > 50, f"only {seen} webtext commands found in the docs: is the extraction broken?"
    assert not wrong, "\n".join(wrong)


# `[filter] running` is a progress line the docs quote, not a recipe key
NOT_KEYS = {"running", "already", "done", "warning"}


def test_every_recipe_key_in_the_docs_exists():
    wrong, seen = [], 0
    for page in DOCS:
        for section, key, star in re.findall(r"(?<!any )\[(\w+)\] ([a-z_][a-z0-9_]*)(\*?)", page.read_text()):
            if section not in RECIPE or key in NOT_KEYS:
                continue
            seen += 1
            keys = RECIPE[section]
            if not (any(k.startswith(key) for k in keys) if star else key in keys):
                wrong.append(f"{_rel(page)}: [{section}] {key}{star} is not a recipe key")
    assert seen > 30, f"only {seen} recipe keys found in the docs: is the extraction broken?"
    assert not wrong, "\n".join(wrong)


def _parameter_tables():
    """(page, section, [(key, default as written)]) of every '## Parameters (`[section]`...' table
    whose columns are key | default | meaning (a row may list several keys and their defaults)."""
    for page in sorted((ROOT / "docs" / "stages").glob("*.md")):
        text = page.read_text()
        for m in re.finditer(r"^## Parameters \(`\[(\w+)\]`[^\n]*\n(.*?)(?=^## |\Z)", text, re.S | re.M):
            section, body = m.groups()
            if not re.search(r"^\| key \| default \|", body, re.M):
                continue
            rows = []
            for keys, defaults in re.findall(r"^\| (`[^|]*`) \| ([^|]*) \|", body, re.M):
                names = re.findall(r"`([a-z_0-9]+)`", keys)
                values = [v.strip() for v in re.split(r",\s+(?![^\[]*\])", defaults.strip())]
                assert len(names) == len(values), f"{_rel(page)}: row {keys} | {defaults}: keys and defaults differ in number"
                rows += list(zip(names, values))
            yield page, section, rows


def _toml_value(written: str):
    value = written.strip("`")
    if not value.startswith(("[", '"')):
        value = value.replace(",", "")  # 1,000,000
        if re.fullmatch(r"[A-Za-z_][\w-]*", value) and value not in ("true", "false"):
            value = f'"{value}"'  # `exact`: a bare choice
    return tomllib.loads(f"x = {value}")["x"]


def test_stage_parameter_tables_match_the_recipe():
    tables = list(_parameter_tables())
    assert {section for _, section, _ in tables} >= {"links", "filter", "dedup", "bloom", "contamination",
                                                      "tokenize", "train", "datacard"}
    wrong = []
    for page, section, rows in tables:
        code = RECIPE[section]
        for key, written in rows:
            if key not in code:
                wrong.append(f"{_rel(page)}: [{section}] {key}: not a recipe key")
                continue
            value = _toml_value(written)
            if value != code[key] or isinstance(value, bool) != isinstance(code[key], bool):
                wrong.append(f"{_rel(page)}: [{section}] {key}: the docs say {written}, the recipe {code[key]!r}")
        missing = sorted(set(code) - {key for key, _ in rows})
        if missing:
            wrong.append(f"{_rel(page)}: [{section}] table lacks {missing}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("page", DOCS[:-1], ids=_rel)
def test_repository_paths_and_names_in_the_docs_exist(page):
    text = page.read_text()
    wrong = []
    for path in set(re.findall(r"(?<![\w/.-])((?:corpus_tools|pipelines|bpe|training_bridge|tests|benchmarks)/[\w/.-]*\w)(?![\w<])",
                               text)):
        if not (ROOT / path).exists():
            wrong.append(f"path {path} does not exist")
    for dotted in set(re.findall(r"(?<![\w/.-])((?:corpus_tools|pipelines|bpe|training_bridge)(?:\.\w+)+)", text)):
        parts = dotted.split(".")
        if parts[-1] in ("py", "md"):
            continue
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                continue
        else:
            wrong.append(f"{dotted}: no such module")
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                wrong.append(f"{dotted}: {attr} not found")
                break
            obj = getattr(obj, attr)
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for name in set(re.findall(r"`(test_\w+)`", text)):
        if f"def {name}(" not in tests:
            wrong.append(f"test {name} does not exist")
    assert not wrong, f"{_rel(page)}:\n" + "\n".join(sorted(wrong))
