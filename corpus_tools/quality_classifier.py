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
import struct
import tempfile
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

SIDECAR_KIND = "fasttext-quality-classifier"  # the "kind" of the MODEL.json train_classifier writes
POSITIVE = "__label__hq"
NEGATIVE = "__label__lq"
_WS = re.compile(r"\s+")
MIN_TEXTS = 2  # per class: one to train on and one to hold out
FEW_TEXTS = 50  # per class: below this the held-out precision/recall rest on a handful of texts
IMBALANCE = 10  # larger side / smaller side: above this the class prior dominates what is learnt


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


# fastText's binary header (fasttext.cc, args.cc): int32 magic, int32 version, then the training
# arguments as int32s (dim, ws, epoch, minCount, neg, wordNgrams, loss, model, ...); model 3 is
# "supervised", a classifier (1 and 2 are word vectors).
_FASTTEXT_MAGIC = 793712314
_FASTTEXT_VERSIONS = (11, 12)
_SUPERVISED = 3
_HEADER = struct.Struct("<2i8i")


def check_model(path: str) -> None:
    """Raise ValueError saying what is wrong when ``path`` (local or any fsspec URL) is not a
    quality classifier, so a recipe's model is checked before a run's first stage, not when the
    filter's workers load it. It reads the header (40 bytes); a model with no sidecar from
    :func:`train_classifier` is loaded to see its labels (a fastText classifier of something else,
    lid.176 say, has the same header)."""
    import fsspec

    try:
        with fsspec.open(path, "rb") as fh:
            head = fh.read(_HEADER.size)
    except FileNotFoundError:
        raise ValueError("no such file (train one with `webtext quality train`)") from None
    except IsADirectoryError:
        raise ValueError("a folder, not a model file (the .bin `webtext quality train` wrote)") from None
    except OSError as e:
        raise ValueError(f"cannot be read: {e}") from None
    if len(head) < _HEADER.size or _HEADER.unpack(head)[0] != _FASTTEXT_MAGIC:
        raise ValueError("not a fastText model (its first bytes are not fastText's; the .bin `webtext quality "
                         "train` wrote)")
    magic, version, *args = _HEADER.unpack(head)
    if version not in _FASTTEXT_VERSIONS:
        raise ValueError(f"a fastText model of format version {version}, which this fastText cannot read")
    if args[7] != _SUPERVISED:
        raise ValueError("a fastText word-vector model, not a classifier (train one with `webtext quality train`)")
    if _read_sidecar(path + ".json").get("kind") != SIDECAR_KIND:
        QualityClassifier(path)  # raises on other labels


class QualityClassifier:
    """A trained model: ``score(texts)`` gives P(curated) for each text. ``model_path`` may be an
    fsspec URL (``gs://...`` on Dataflow): fastText reads local files, so it is copied first."""

    def __init__(self, model_path: str):
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None
        self.model_path = model_path
        if "://" in model_path:
            self._model = _load_remote(model_path)
        else:
            self._model = fasttext.load_model(model_path)
        labels = self._model.get_labels()
        if POSITIVE not in labels:  # a fastText classifier, but of something else (lid.176: languages)
            raise ValueError(f"not a quality classifier: its labels are {', '.join(labels[:3])}"
                             f"{' ...' if len(labels) > 3 else ''}, not {POSITIVE} / {NEGATIVE}")
        self.info = _read_sidecar(model_path + ".json")
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


def _load_remote(url: str):
    """Load the fastText model at ``url`` through a local copy (removed once loaded: fastText keeps
    the whole model in memory)."""
    import fasttext
    import fsspec

    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "model.bin")
        with fsspec.open(url, "rb") as src, open(local, "wb") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
        return fasttext.load_model(local)


def _read_sidecar(path: str) -> dict:
    """The model's ``.json`` written beside it by :func:`train_classifier`; {} when there is none."""
    import fsspec

    try:
        with fsspec.open(path, "r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise ValueError(f"{path}: not the JSON `webtext quality train` writes beside its model ({e})") from None


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
    warnings = class_warnings(pos, neg)  # raises for classes nothing can be learnt from
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
        "kind": SIDECAR_KIND,
        "labels": {"positive": POSITIVE, "negative": NEGATIVE},
        "params": asdict(params),
        "sources": sources or {},
        "n_train": {"positive": len(pos_tr), "negative": len(neg_tr)},
        "n_validation": {"positive": len(pos_val), "negative": len(neg_val)},
        "validation": metrics,
        "warnings": warnings,
    }
    with open(out_path + ".json", "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return info


def class_warnings(pos: Sequence[str], neg: Sequence[str]) -> list[str]:
    """Check the two classes (texts as the classifier sees them, :func:`normalize` applied) before training.

    Raises ValueError (one line) for classes nothing can be learnt from: fewer than
    :data:`MIN_TEXTS` texts on a side (none: a wrong path or an empty file), or a side with no text
    the other lacks (the same files given twice: every text carries both labels). Returns warnings
    for classes that train but mislead: texts in both classes, sides more than :data:`IMBALANCE`
    times apart, a side under :data:`FEW_TEXTS` texts."""
    if len(pos) < MIN_TEXTS or len(neg) < MIN_TEXTS:
        empty = [side for side, texts in (("positive", pos), ("negative", neg)) if not texts]
        why = f"; no {' and no '.join(empty)} text" if empty else ""
        raise ValueError(f"need at least {MIN_TEXTS} positive and {MIN_TEXTS} negative texts, "
                         f"got {len(pos)} and {len(neg)}{why}")
    pos_set, neg_set = set(pos), set(neg)
    shared = pos_set & neg_set
    if pos_set <= neg_set or neg_set <= pos_set:
        what = ("the same texts" if pos_set == neg_set else
                "texts that are all negative too" if pos_set <= neg_set else "texts that are all positive too")
        raise ValueError(f"the positive and negative sides are {what} ({len(pos_set)} and {len(neg_set)} distinct, "
                         f"{len(shared)} in both): no text tells the classes apart; give curated text to "
                         "--positive and raw crawl to --negative")
    warnings = []
    if shared:
        warnings.append(f"{len(shared)} distinct texts are both positive and negative (of {len(pos_set)} and "
                        f"{len(neg_set)}): they are trained with both labels and may be held out on one side "
                        "while trained on the other")
    big, small = max(len(pos), len(neg)), min(len(pos), len(neg))
    if big > IMBALANCE * small:
        warnings.append(f"{len(pos)} positive vs {len(neg)} negative texts ({big / small:.0f}:1): the classifier "
                        "learns the imbalance as a prior and scores lean to the larger side; --limit N takes at "
                        "most N texts per side")
    few = [f"{len(texts)} {side}" for side, texts in (("positive", pos), ("negative", neg)) if len(texts) < FEW_TEXTS]
    if few:
        warnings.append(f"only {' and '.join(few)} texts (fewer than {FEW_TEXTS} a side): too few to learn "
                        "from, and the held-out precision/recall rest on a handful of texts")
    return warnings


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


def _jsonl_texts(lines: Iterable[str], path: str) -> Iterable[str]:
    """The ``text`` of each JSON object line; ValueError naming the file and line for one that is
    not a JSON object (training on a file half read would be silent)."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {number}: not JSON ({e.msg}, column {e.colno})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{path}, line {number}: a JSON {type(obj).__name__}, not an object with a \"text\" field")
        text = obj.get("text")
        yield text if isinstance(text, str) else ""


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
                texts.extend(_jsonl_texts(fh, f))
            else:
                lines = [ln.strip() for ln in fh if ln.strip()]
                step = max(1, chunk_lines)
                texts.extend("\n".join(lines[i : i + step]) for i in range(0, len(lines), step))
        if limit and len(texts) >= limit:
            break
    texts = [t for t in texts if t.strip()]
    return texts[:limit] if limit else texts
