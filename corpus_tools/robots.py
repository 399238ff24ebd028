"""robots.txt rules for one origin, following RFC 9309 (the Robots Exclusion Protocol).

Parsing and matching are done by ``protego`` (Scrapy's parser: longest-match precedence,
``*`` and ``$`` wildcards, ``Allow`` beating an equally long ``Disallow``, ``Crawl-delay``).
What happens when robots.txt cannot be fetched is decided here, by RFC 9309 section 2.3.1:

* 2xx: parse the body (at most ``max_bytes`` of it; RFC 9309 asks for at least 500 KiB);
* 4xx ("unavailable"): everything is allowed, except 429, which most crawlers (Google)
  treat like a server error;
* 5xx, 429, timeouts, connection or DNS errors ("unreachable"): everything is disallowed
  for the rest of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego


@dataclass
class RobotsRules:
    """The robots decision for one origin (``scheme://host:port``)."""

    mode: str  # "parsed" | "allow_all" | "disallow_all"
    detail: str = ""
    _parser: Protego | None = None
    cause: str | None = None  # why robots.txt was unreachable (timeout, tls, connection...), if it was

    @classmethod
    def allow_all(cls, detail: str = "") -> "RobotsRules":
        return cls("allow_all", detail)

    @classmethod
    def disallow_all(cls, detail: str = "") -> "RobotsRules":
        return cls("disallow_all", detail)

    @classmethod
    def parse(cls, body: bytes | str, detail: str = "") -> "RobotsRules":
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        return cls("parsed", detail, Protego.parse(text))

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.mode == "allow_all":
            return True
        if self.mode == "disallow_all":
            return False
        return bool(self._parser.can_fetch(url, robots_token(user_agent)))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(robots_token(user_agent))
        return float(delay) if delay is not None else None


def robots_token(user_agent: str) -> str:
    """The product token matched against ``User-agent:`` lines: ``webtext-crawler/0.1 (+...)`` -> ``webtext-crawler``."""
    token = user_agent.strip().split(None, 1)[0] if user_agent.strip() else "*"
    return token.split("/", 1)[0] or "*"


def rules_from_response(status: int | None, body: bytes, error: str | None = None) -> RobotsRules:
    """Turn the outcome of fetching robots.txt into rules (RFC 9309 2.3.1).

    ``status`` is the final HTTP status after redirects, or None when no response came
    (``error`` then says why: timeout, connection, dns, ssrf, too many redirects...).
    """
    if status is None:
        rules = RobotsRules.disallow_all(f"robots.txt unreachable ({error or 'no response'})")
        rules.cause = error
        return rules
    if 200 <= status < 300:
        return RobotsRules.parse(body, f"robots.txt {status}")
    if status == 429 or status >= 500:
        return RobotsRules.disallow_all(f"robots.txt returned {status}")
    if 400 <= status < 500:
        return RobotsRules.allow_all(f"robots.txt returned {status}")
    # 1xx / unfollowed 3xx: treat as unreachable, the conservative reading.
    return RobotsRules.disallow_all(f"robots.txt returned {status}")
