"""GPT-3's document quality classifier (Brown et al. 2020, appendix A).

A fastText linear classifier is trained to tell curated text (positives, e.g. WebText,
Wikipedia, books) from raw crawl (negatives). A document with classifier score
``score = P(curated)`` is kept when ``np.random.pareto(alpha) > 1 - score`` with ``alpha = 9``:
mostly high-scoring documents, but some out-of-distribution ones too. Here the Pareto draw is
seeded by ``(seed, document id)``, so the decision is deterministic per document and
independent of order or worker count. The keep probability is ``(2 - score) ** -alpha``
(numpy's ``pareto`` is the Lomax distribution, ``P(X > t) = (1 + t) ** -alpha``).

``train_classifier`` saves ``MODEL`` (fastText ``.bin``) plus ``MODEL.json``: the training
recipe, the data sizes and the held-out precision / recall / F1 / accuracy.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

POSITIVE = "__label__hq"
NEGATIVE = "__label__lq"
_WS = re.compile(r"\s+")


@dataclass
class ClassifierParams:
    epoch: int = 25
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 64
    min_count: int = 1
    max_chars: int = 5000
    val_fraction: float = 0.2
    seed: int = 1234


def normalize(text: str, max_chars: int = 5000) -> str:
    """One lower-case line, as fastText expects (its labels are line-based)."""
    return _WS.sub(" ", text[:max_chars].lower()).strip()


def _split(items: list[str], val_fraction: float, rng: random.Random) -> tuple[list[str], list[str]]:
    items = list(items)
    rng.shuffle(items)
    n_val = max(1, int(round(len(items) * val_fraction))) if len(items) > 1 else 0
    return items[n_val:], items[:n_val]


def precision_recall(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    tp = sum(1 for t, p in zip(y_true, y_pred) if t and p)
    fp = sum(1 for t, p in zip(y_true, y_pred) if not t and p)
    fn = sum(1 for t, p in zip(y_true, y_pred) if t and not p)
    correct = sum(1 for t, p in zip(y_true, y_pred) if t == p)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "accuracy": correct / max(1, len(y_true))}


class QualityClassifier:
    """A trained model: ``score(texts)`` gives P(curated) for each text."""

    def __init__(self, model_path: str):
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None
        self.model_path = model_path
        self._model = fasttext.load_model(model_path)
        sidecar = model_path + ".json"
        self.info = json.load(open(sidecar, encoding="utf-8")) if os.path.exists(sidecar) else {}
        self.max_chars = int(self.info.get("params", {}).get("max_chars", 5000))

    def score(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        labels, probs = self._model.predict([normalize(t, self.max_chars) for t in texts], k=2)
        out = []
        for labs, ps in zip(labels, probs):
            p = dict(zip(labs, (float(x) for x in ps)))
            out.append(min(1.0, max(0.0, p.get(POSITIVE, 1.0 - p.get(NEGATIVE, 1.0)))))
        return out


def train_classifier(
    positives: Iterable[str], negatives: Iterable[str], out_path: str, params: ClassifierParams | None = None,
    sources: dict | None = None,
) -> dict:
    """Train, evaluate on a held-out split, save ``out_path`` and ``out_path.json``; return the sidecar dict."""
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise RuntimeError(
            "the installed `fasttext` module can only predict (fasttext-predict was installed over the full "
            "library); run `pip install --no-deps --force-reinstall fasttext-numpy2-wheel` (make does this)"
        )

    params = params or ClassifierParams()
    pos = [normalize(t, params.max_chars) for t in positives]
    neg = [normalize(t, params.max_chars) for t in negatives]
    pos, neg = [t for t in pos if t], [t for t in neg if t]
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(f"need at least 2 positive and 2 negative texts, got {len(pos)} and {len(neg)}")
    rng = random.Random(params.seed)
    pos_tr, pos_val = _split(pos, params.val_fraction, rng)
    neg_tr, neg_val = _split(neg, params.val_fraction, rng)
    train = [f"{POSITIVE} {t}" for t in pos_tr] + [f"{NEGATIVE} {t}" for t in neg_tr]
    rng.shuffle(train)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(train) + "\n")
        fasttext.FastText.eprint = lambda *a, **k: None
        model = fasttext.train_supervised(
            input=path, epoch=params.epoch, lr=params.lr, wordNgrams=params.word_ngrams, dim=params.dim,
            minCount=params.min_count, thread=1, seed=params.seed, verbose=0,
        )
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    model.save_model(out_path)
    clf = QualityClassifier.__new__(QualityClassifier)
    clf._model, clf.max_chars, clf.model_path, clf.info = model, params.max_chars, out_path, {}
    val_texts = pos_val + neg_val
    y_true = [1] * len(pos_val) + [0] * len(neg_val)
    scores = clf.score(val_texts)
    metrics = precision_recall(y_true, [int(s >= 0.5) for s in scores])
    info = {
        "kind": "fasttext-quality-classifier",
        "labels": {"positive": POSITIVE, "negative": NEGATIVE},
        "params": asdict(params),
        "sources": sources or {},
        "n_train": {"positive": len(pos_tr), "negative": len(neg_tr)},
        "n_validation": {"positive": len(pos_val), "negative": len(neg_val)},
        "validation": metrics,
    }
    with open(out_path + ".json", "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return info


def _doc_seed(seed: int, doc_id: str) -> int:
    h = hashlib.blake2b(f"{seed}:{doc_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "little")


def pareto_keep(doc_id: str, score: float, alpha: float = 9.0, seed: int = 0) -> bool:
    """GPT-3's rule: keep when ``np.random.pareto(alpha) > 1 - score``, the draw seeded by (seed, doc id)."""
    draw = np.random.default_rng(_doc_seed(seed, doc_id)).pareto(alpha)
    return bool(draw > 1.0 - score)


def keep_probability(score: float, alpha: float = 9.0) -> float:
    """``P(pareto(alpha) > 1 - score) = (2 - score) ** -alpha``."""
    return float((2.0 - score) ** -alpha)


def load_texts(paths: Sequence[str], chunk_lines: int = 1, limit: int | None = None) -> list[str]:
    """Training texts from files: Parquet (``text`` column), JSONL (``text`` field), or plain text.

    A plain-text file (optionally ``.gz``/``.bz2``/``.xz``) gives one text per ``chunk_lines``
    consecutive non-empty lines. Folders mean every ``*.parquet`` in them.
    """
    import bz2
    import glob
    import gzip
    import lzma

    files: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            files.extend(sorted(glob.glob(os.path.join(p, "*.parquet"))))
        elif any(c in p for c in "*?["):
            files.extend(sorted(glob.glob(p)))
        elif os.path.exists(p):
            files.append(p)
        else:
            raise FileNotFoundError(f"training input not found: {p}")
    texts: list[str] = []
    for f in files:
        if f.endswith(".parquet"):
            import pyarrow.parquet as pq

            texts.extend(t for t in pq.read_table(f, columns=["text"]).column("text").to_pylist() if t)
            continue
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(os.path.splitext(f)[1], open)
        with opener(f, "rt", encoding="utf-8", errors="replace") as fh:
            if ".jsonl" in f or ".ndjson" in f:
                texts.extend(json.loads(line).get("text") or "" for line in fh if line.strip())
            else:
                lines = [ln.strip() for ln in fh if ln.strip()]
                step = max(1, chunk_lines)
                texts.extend("\n".join(lines[i : i + step]) for i in range(0, len(lines), step))
        if limit and len(texts) >= limit:
            break
    texts = [t for t in texts if t.strip()]
    return texts[:limit] if limit else texts
