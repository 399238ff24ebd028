"""Docs that are generated from code must be current."""

from pathlib import Path

from corpus_tools.recipe import recipe_docs_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_recipe_reference_is_current():
    text = (ROOT / "docs" / "recipe.md").read_text()
    table = recipe_docs_markdown()
    assert table in text, "docs/recipe.md is stale: run `python -m corpus_tools.recipe > docs/recipe.md`"
