"""C4's line rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", section 2.2).

Line-level cleaning, then page-level rejection:

* keep only lines that end in terminal punctuation (``.`` ``!`` ``?`` ``"`` and kin);
* drop lines with fewer than ``min_words_per_line`` words;
* drop lines that mention "javascript" and lines about cookies / terms of use / privacy policy;
* reject the page when it contains "lorem ipsum", when it contains a curly bracket (code),
  or when fewer than ``min_sentences`` sentences are left.

``apply(text, language)`` returns ``(cleaned_text, None)`` for a kept page or ``(text, detail)``
for a rejected one. (C4's bad-words list is not applied: it would have to be downloaded.)

C4 is English (langdetect p >= 0.99). For another ``language`` (lid.176's label; ``None``:
English, checked exactly as before) the closing quotation marks of its typography also end a
line or a sentence (German ``„…“``, ``»…«``; Chinese ``「…」``), and where words are not separated
by spaces (Chinese, Japanese, Thai, ...) ``。！？`` end a sentence without a following space.
Words per line are whitespace tokens, or for Chinese the words of a segmenter
(:func:`corpus_tools.word_segmentation.words`, punctuation tokens not counted); for the other
languages without spaces (Japanese, Thai, ...) the words-per-line rule is skipped (``skipped``).
"javascript", "lorem ipsum" and ``{`` mean the same in every language; the cookie /
privacy-policy phrases are English ones.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from corpus_tools.rule_languages import ENGLISH, closing_quotes, is_spaced
from corpus_tools.word_segmentation import counted_words, line_words, splits_words

TERMINAL = (".", "!", "?", '"', "”", "’", "'", "。", "！", "？", "…")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$|[\"”’'])")


@functools.lru_cache(maxsize=None)
def _sentence_end(language: str | None) -> re.Pattern[str]:
    quotes = "".join(closing_quotes(language))
    if (language or ENGLISH) == ENGLISH:
        return _SENTENCE_END
    if not is_spaced(language):
        return re.compile(rf"[。！？]+|[.!?]+(?=\s|$|[\"”’'{quotes}])")
    return re.compile(rf"[.!?。！？]+(?=\s|$|[\"”’'{quotes}])")


def count_sentences(text: str, language: str | None = None) -> int:
    return len(_sentence_end(language).findall(text))


@dataclass
class C4Lines:
    name = "c4"
    min_words_per_line: int = 3
    min_sentences: int = 5
    require_terminal_punctuation: bool = True
    drop_javascript_lines: bool = True
    drop_policy_lines: bool = True
    reject_lorem_ipsum: bool = True
    reject_curly_bracket: bool = True

    def skipped(self, language: str | None = None) -> tuple[str, ...]:
        """Words per line are not counted where words are not separated by spaces and there is
        no segmenter."""
        return () if splits_words(language) or not self.min_words_per_line else ("min_words_per_line",)

    def apply(self, text: str, language: str | None = None) -> tuple[str, str | None]:
        terminal = TERMINAL + closing_quotes(language)
        min_words = self.min_words_per_line if splits_words(language) else 0
        spaced = is_spaced(language)  # words(line, language) is line.split(): inlined on this hot path
        low = text.lower()
        if self.reject_lorem_ipsum and "lorem ipsum" in low:
            return text, "lorem_ipsum"
        if self.reject_curly_bracket and "{" in text:
            return text, "curly_bracket"
        by_line = None if spaced or not min_words else line_words(text, language)
        kept = []
        for line in text.splitlines():
            s = line.strip()
            if not s:
                continue
            if self.require_terminal_punctuation and not s.endswith(terminal):
                continue
            if min_words and (len(s.split()) if spaced else len(counted_words(by_line[s], language))) < min_words:
                continue
            ls = s.lower()
            if self.drop_javascript_lines and "javascript" in ls:
                continue
            if self.drop_policy_lines and any(p in ls for p in POLICY_PHRASES):
                continue
            kept.append(s)
        cleaned = "\n".join(kept)
        n = count_sentences(cleaned, language)
        if n < self.min_sentences:
            return text, f"sentences {n} < {self.min_sentences}"
        return cleaned, None
