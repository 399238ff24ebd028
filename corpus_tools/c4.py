"""C4's line rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", section 2.2).

Line-level cleaning, then page-level rejection:

* keep only lines that end in terminal punctuation (``.`` ``!`` ``?`` ``"`` and kin);
* drop lines with fewer than ``min_words_per_line`` words;
* drop lines that mention "javascript" and lines about cookies / terms of use / privacy policy;
* reject the page when it contains "lorem ipsum", when it contains a curly bracket (code),
  or when fewer than ``min_sentences`` sentences are left.

``apply(text)`` returns ``(cleaned_text, None)`` for a kept page or ``(text, detail)``
for a rejected one. (C4's bad-words list is not applied: it would have to be downloaded.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERMINAL = (".", "!", "?", '"', "”", "’", "'", "。", "！", "？", "…")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$|[\"”’'])")


def count_sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text))


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

    def apply(self, text: str) -> tuple[str, str | None]:
        low = text.lower()
        if self.reject_lorem_ipsum and "lorem ipsum" in low:
            return text, "lorem_ipsum"
        if self.reject_curly_bracket and "{" in text:
            return text, "curly_bracket"
        kept = []
        for line in text.splitlines():
            s = line.strip()
            if not s:
                continue
            if self.require_terminal_punctuation and not s.endswith(TERMINAL):
                continue
            if len(s.split()) < self.min_words_per_line:
                continue
            ls = s.lower()
            if self.drop_javascript_lines and "javascript" in ls:
                continue
            if self.drop_policy_lines and any(p in ls for p in POLICY_PHRASES):
                continue
            kept.append(s)
        cleaned = "\n".join(kept)
        n = count_sentences(cleaned)
        if n < self.min_sentences:
            return text, f"sentences {n} < {self.min_sentences}"
        return cleaned, None
