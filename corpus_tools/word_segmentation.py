"""The words of a text in its language, for the word-based heuristic rules (Gopher, C4).

:func:`words` says what Gopher's and C4's rules count as words (C4 inlines its whitespace case
on its per-line hot path; ``min_length``'s ``min_words`` counts whitespace tokens in every language):

* languages written with spaces between words (English, German, ...; every lid.176 label but
  :data:`corpus_tools.rule_languages.UNSPACED`): ``text.split()``, the whitespace tokens with
  their punctuation attached, exactly as the rules have always counted them;
* Chinese (lid.176 ``zh``, and ``wuu`` Wu and ``yue`` Cantonese, :data:`SEGMENTED`): the words
  of **jieba** 0.42.1 (MIT, pure Python, its dictionary and HMM inside the package), in its
  default mode, ``cut(text, cut_all=False, HMM=True)``. That is the segmenter datatrove gives
  these three languages (``datatrove/utils/word_tokenizers.py``: spaCy's Chinese tokenizer with
  ``segmenter = "jieba"``, which calls ``jieba.cut(text, cut_all=False)``; the assignment is in
  ``datatrove/assets/tokenizer_assignment.csv``: ``cmn``, ``wuu``, ``yue``, ``zho`` → ``zh``;
  Apache-2.0), so FineWeb-2's Chinese stop words and thresholds, which were computed on its
  words, mean the same here. Tokens that are only whitespace are dropped (datatrove's
  ``strip_strings``). Punctuation comes out as tokens of its own (``，`` ``。`` ``“``) and is
  **kept** in the list, as in datatrove: :func:`is_punctuation` tells the rules which tokens
  they are (see ``corpus_tools/gopher.py`` for how each rule counts them);
* other languages without spaces (Japanese, Thai, Lao, Khmer, Burmese, Tibetan, Dzongkha):
  no segmenter here, :func:`splits_words` is False and :func:`words` refuses them; the rules
  skip their word-based checks and say so.

jieba is imported on the first Chinese text only, so English never pays for it. Its prefix
dictionary is built in memory from the bundled ``dict.txt`` (about 0.6 s and 65 MB once per
process): jieba's own loader would read and write a cache file ``jieba.cache`` in the temp
folder, shared with any other program (and jieba version) on the machine, so a stale file could
change the segmentation; here no file is read but the package's own and none is written. jieba
logs "Building prefix dict ..." to stderr at DEBUG level; its logger is set to WARNING, so
nothing is printed. Segmentation is deterministic (a dictionary and a Viterbi search).
:func:`jieba_tokenizer` is that tokenizer for other code that segments Chinese (the extract
stage's newspaper3k, which would otherwise call ``jieba.cut`` and so jieba's cached loader).
"""

from __future__ import annotations

import functools
import logging
import threading
import unicodedata
import warnings
from typing import Any

from corpus_tools.rule_languages import ENGLISH, UNSPACED, is_spaced

# lid.176 labels whose words come from jieba (datatrove's assignment: cmn, wuu, yue → zh)
SEGMENTED = frozenset({"zh", "wuu", "yue"})

_lock = threading.Lock()
_segmenter: Any = None


def splits_words(language: str | None) -> bool:
    """Whether :func:`words` finds the words of ``language`` (``None``: English)."""
    language = language or ENGLISH
    return language not in UNSPACED or language in SEGMENTED


def words(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` in ``language`` (lid.176 label, ``None``: English), in order.

    Whitespace tokens for spaced languages; jieba's words for Chinese, whitespace dropped and
    punctuation tokens kept. ``ValueError`` for a language written without spaces that has
    no segmenter (:func:`splits_words` is False).
    """
    language = language or ENGLISH
    if language not in UNSPACED:
        return text.split()
    if language in SEGMENTED:
        return list(_segmented(text))
    raise ValueError(f"no word segmenter for language {language!r}")


def is_punctuation(token: str) -> bool:
    """Whether ``token`` is made of punctuation and symbols only (Unicode categories P*, S*).

    datatrove's rules leave such tokens out of the word count and mean word length and keep
    them in the other ratios; its list (``datatrove/utils/text.py`` ``PUNCTUATION``) is a
    hand-made one of mostly these characters (it lacks some, such as ``·``).
    """
    for c in token:  # a plain loop: 3x faster than all(<generator>) on jieba's short tokens
        if unicodedata.category(c)[0] not in "PS":
            return False
    return True


def counted_words(tokens: list[str], language: str | None = None) -> list[str]:
    """The tokens of :func:`words` that count as words (word count, mean word length, C4's words
    per line): all whitespace tokens, whose punctuation is attached; a segmenter's tokens that are
    not punctuation (:func:`is_punctuation`)."""
    if is_spaced(language):
        return tokens
    return [w for w in tokens if not is_punctuation(w)]


def line_words(text: str, language: str | None = None) -> dict[str, tuple[str, ...]]:
    """The words of each line of ``text`` (``str.splitlines``), keyed by the line stripped, as
    :func:`words` finds them; C4 counts words per line. For Chinese it is the segmentation
    :func:`words` made of the whole text (one jieba pass serves Gopher's rules and C4's)."""
    if (language or ENGLISH) in SEGMENTED:
        return _segmented_lines(text)
    return {line.strip(): tuple(words(line, language)) for line in text.splitlines()}


def _segmented(text: str) -> tuple[str, ...]:
    """jieba's words of ``text``: those of its lines in order. jieba cuts a text into blocks at
    every character outside its word pattern (``re_han_default``: Han, Latin letters, digits,
    ``+#&._%-``), and every line break is one, so no block spans two lines: segmenting line by
    line gives the words of the whole text (tests/test_word_segmentation.py checks it)."""
    lines = _segmented_lines(text)
    return tuple(w for line in text.splitlines() for w in lines[line.strip()])


def forget() -> None:
    """Drop the segmentations kept of the last texts (benchmarks time each text afresh)."""
    _segmented_lines.cache_clear()


@functools.lru_cache(maxsize=8)
def _segmented_lines(text: str) -> dict[str, tuple[str, ...]]:
    # cached: Gopher's quality and repetition rules and C4 segment the same text one after the other
    cut = jieba_tokenizer().cut
    lines: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        s = line.strip()
        if s not in lines:
            lines[s] = tuple(w for w in cut(s, cut_all=False, HMM=True) if w and not w.isspace())
    return lines


def jieba_tokenizer() -> Any:
    """jieba's tokenizer (a ``jieba.Tokenizer``) with the bundled dictionary, built once per process in
    memory, without jieba's cache file, and silent: the one every Chinese segmentation here uses."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                with warnings.catch_warnings():
                    # jieba 0.42.1 imports pkg_resources when it is installed, which warns
                    warnings.simplefilter("ignore")
                    import jieba
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()  # the default dictionary
                with tokenizer.get_dict_file() as f:
                    tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(f)
                tokenizer.initialized = True
                _segmenter = tokenizer
    return _segmenter
