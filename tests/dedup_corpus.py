"""Real documents and seeded word edits for the dedup tests and benchmark (no I/O beyond ../shared/data)."""

from __future__ import annotations

import bz2
import random
import xml.etree.ElementTree as ET
from pathlib import Path


def lee_documents(shared_data: Path) -> list[str]:
    path = shared_data / "corpora" / "lee-news-background.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def shakespeare_chunks(shared_data: Path, chars: int = 800) -> list[str]:
    text = (shared_data / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    out, cur = [], []
    size = 0
    for para in text.split("\n\n"):
        cur.append(para)
        size += len(para)
        if size >= chars:
            out.append("\n\n".join(cur))
            cur, size = [], 0
    return out


def wikipedia_pages(shared_data: Path) -> list[str]:
    out = []
    with bz2.open(shared_data / "corpora" / "enwiki-sample-206-pages.xml.bz2") as fh:
        for _, el in ET.iterparse(fh):
            if el.tag.endswith("}text") and el.text and el.text.strip():
                out.append(el.text)
            el.clear()
    return out


def edit_words(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    """Apply ``rate * len(words)`` random word insertions, deletions and adjacent swaps."""
    words = text.split()
    for _ in range(max(1, round(rate * len(words)))):
        op = rng.randrange(3)
        if op == 0 or len(words) < 2:
            words.insert(rng.randrange(len(words) + 1), rng.choice(vocab))
        elif op == 1:
            del words[rng.randrange(len(words))]
        else:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)
