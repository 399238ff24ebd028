"""A small, realistic web site built only from text that ships with Python, for the offline demo.

Articles are the reference topics of ``pydoc_data.topics`` (real English prose from the Python
documentation), each wrapped in typical page boilerplate (navigation, cookie banner, sidebar,
footer) so extraction has something to remove. Beside them the site has pages that each later
stage should remove, every one for a stated reason:

* ``near-dup``: an article with a few words changed (MinHash near-duplicate);
* ``copy``: the same article at a second URL (exact duplicate);
* ``spam``: keyword-stuffed, repetitive text (Gopher repetition / quality rules);
* ``foreign``: German, French and Spanish pages (language ID);
* ``thin``: a page with almost no text (minimum length);
* ``app-shell``: a JavaScript application shell with no text in its HTML (extraction finds nothing).

Everything is deterministic given the seed.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

import pydoc_data.topics

SITE_NAME = "Python Notes"


@dataclass
class Page:
    path: str  # URL path, e.g. "/articles/if.html"
    title: str
    html: str
    kind: str  # article | near-dup | copy | spam | foreign | thin | app-shell


def _paragraphs(text: str) -> list[str]:
    """Prose paragraphs of a pydoc topic (grammar and code blocks dropped, lines re-joined)."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or lines[0].startswith("   ") or set(lines[-1].strip()) <= set("*=-"):
            continue
        para = " ".join(line.strip() for line in lines)
        if len(para.split()) >= 8:
            out.append(para)
    return out


def articles() -> list[tuple[str, str, list[str]]]:
    """(slug, title, paragraphs) for every pydoc topic with enough prose."""
    out = []
    for key in sorted(pydoc_data.topics.topics):
        text = pydoc_data.topics.topics[key]
        first = text.strip().splitlines()[0].strip()
        title = first if len(first) < 80 else key
        paras = _paragraphs(text)
        if sum(len(p.split()) for p in paras) >= 120:
            slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
            out.append((slug, title, paras))
    return out


def render(title: str, paragraphs: list[str], nav: list[tuple[str, str]], lang: str = "en") -> str:
    links = "\n".join(f'      <li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in nav)
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <title>{html.escape(title)} | {SITE_NAME}</title>
  <meta name="description" content="{html.escape(paragraphs[0][:150] if paragraphs else title)}">
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. <a href="/privacy.html">Learn more</a> <button>Accept</button></div>
  <header><a class="logo" href="/">{SITE_NAME}</a>
    <nav><ul>
{links}
    </ul></nav>
  </header>
  <main>
    <article>
      <h1>{html.escape(title)}</h1>
      <p class="byline">Posted by the editors · 5 min read</p>
{body}
    </article>
  </main>
  <aside><h3>Popular</h3><ul>{"".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in nav[:5])}</ul>
    <div class="ad">Advertisement: Try our premium plan today!</div></aside>
  <footer><p>© 2026 {SITE_NAME}. All rights reserved.</p><a href="/privacy.html">Privacy</a> · <a href="/terms.html">Terms</a> · <a href="/contact.html">Contact</a></footer>
</body>
</html>
"""


FOREIGN = {
    "de": ("Die Geschichte der Stadt", [
        "Die Stadt liegt an einem breiten Fluss und wurde im Mittelalter als Handelsplatz gegründet. "
        "Über viele Jahrhunderte kamen Kaufleute aus dem ganzen Land, um hier Getreide, Salz und Tuch zu verkaufen.",
        "Im neunzehnten Jahrhundert wuchs die Bevölkerung schnell, weil neue Fabriken entstanden und die Eisenbahn "
        "die Stadt mit den großen Häfen im Norden verband. Viele der alten Häuser in der Altstadt sind bis heute erhalten.",
        "Heute ist die Stadt vor allem für ihre Universität, ihre Museen und den jährlichen Weihnachtsmarkt bekannt, "
        "der jedes Jahr zahlreiche Besucher aus dem In- und Ausland anzieht.",
    ]),
    "fr": ("Une promenade au bord de la mer", [
        "Le village se trouve au bord de la mer, entre deux collines couvertes de pins et de vignes. "
        "Chaque matin, les pêcheurs reviennent au port avec leurs bateaux chargés de poissons frais.",
        "Les habitants se retrouvent sur la place principale pour boire un café et discuter des nouvelles de la semaine. "
        "En été, de nombreux touristes viennent profiter des plages de sable fin et des petits restaurants.",
        "Au printemps, les chemins de randonnée offrent une vue magnifique sur la côte et sur les îles voisines, "
        "et les fleurs sauvages couvrent les collines de couleurs vives.",
    ]),
    "es": ("El mercado del barrio", [
        "El mercado abre todos los días muy temprano, cuando los vendedores colocan sus frutas, verduras y pescados "
        "en los puestos de madera. Los vecinos llegan con sus bolsas y conversan mientras hacen la compra.",
        "Desde hace más de cien años, el edificio de hierro y cristal es el corazón del barrio y uno de los lugares "
        "favoritos de los turistas que visitan la ciudad durante el verano.",
        "Por la tarde, los bares cercanos se llenan de gente que comparte tapas y cuenta historias de la semana, "
        "y los niños juegan en la plaza hasta que se hace de noche.",
    ]),
}

SPAM_WORDS = ["cheap", "pills", "casino", "bonus", "free", "win", "now", "click", "offer", "deal"]


def build_site(seed: int = 0, max_articles: int | None = None) -> list[Page]:
    """Every page of the demo site (deterministic for a seed)."""
    rng = random.Random(seed)
    arts = articles()
    if max_articles is not None:
        arts = arts[:max_articles]
    nav = [(f"/articles/{slug}.html", title) for slug, title, _ in arts[:8]]
    pages = [Page(f"/articles/{slug}.html", title, render(title, paras, nav), "article")
             for slug, title, paras in arts]
    # near duplicates: a handful of words changed in the first articles
    for slug, title, paras in arts[:4]:
        words = " ".join(paras).split()
        for _ in range(max(1, len(words) // 100)):
            i = rng.randrange(len(words))
            words[i] = rng.choice(["also", "then", "indeed", "here"])
        pages.append(Page(f"/mirror/{slug}.html", title, render(title, [" ".join(words)], nav), "near-dup"))
    # exact copies at a second URL
    for slug, title, paras in arts[4:6]:
        pages.append(Page(f"/archive/{slug}.html", title, render(title, paras, nav), "copy"))
    # spam
    for i in range(3):
        lines = [" ".join(rng.choice(SPAM_WORDS).upper() for _ in range(6)) + "!!!" for _ in range(4)]
        spam = ["BEST DEAL CLICK HERE NOW " * 8] * 6 + lines
        pages.append(Page(f"/promo/offer-{i}.html", "WIN NOW", render("WIN NOW", spam, nav), "spam"))
    # other languages
    for lang, (title, paras) in sorted(FOREIGN.items()):
        pages.append(Page(f"/{lang}/index.html", title, render(title, paras, nav, lang=lang), "foreign"))
    # thin pages
    for i in range(2):
        pages.append(Page(f"/tags/tag-{i}.html", "Tag", render("Tag", ["Nothing here yet, come back soon."], nav), "thin"))
    # a client-side app: the HTML holds no text at all
    shell = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Dashboard</title>'
             '<script src="/static/app.js" defer></script></head><body><div id="root"></div></body></html>')
    pages.append(Page("/app/dashboard.html", "Dashboard", shell, "app-shell"))
    return pages


def write_warc(path: str, pages: list[Page], base_url: str, date: str = "2026-01-01T00:00:00Z") -> int:
    """Write the pages as WARC response records (as a crawler would have fetched them)."""
    import uuid
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for page in pages:
            body = page.html.encode("utf-8")
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            url = base_url.rstrip("/") + page.path
            record_id = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>"  # stable: same site, same bytes
            rec = writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=http,
                                            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": record_id})
            writer.write_record(rec)
    return len(pages)


# --------------------------------------------------------------------------- serving
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"


def site_routes(pages: list[Page]) -> dict[str, tuple[int, str, bytes]]:
    """path -> (status, content type, body) for every URL the demo server answers."""
    routes = {p.path: (200, "text/html; charset=utf-8", p.html.encode("utf-8")) for p in pages}
    routes["/robots.txt"] = (200, "text/plain", ROBOTS_TXT.encode())
    routes["/private/members.html"] = (200, "text/html; charset=utf-8",
                                       render("Members", ["Members only."], []).encode())
    routes["/files/report.json"] = (200, "application/json", b'{"report": "not a page"}')
    return routes


def serve(pages: list[Page], host: str = "127.0.0.1", port: int = 0):
    """Serve the site in a background thread; returns (server, base_url). Call server.shutdown().

    ``port`` is tried first (a fixed port keeps URLs, and so document ids and every output byte,
    the same from run to run); when it is taken, a free port is used instead."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    routes = site_routes(pages)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            status, ctype, body = routes.get(self.path.split("?")[0], (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError:  # the preferred port is taken: any free one will do
        server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


# --------------------------------------------------------------------------- a Pushshift dump
def reddit_posts(pages: list[Page], base_url: str, seed: int = 0, start_utc: int = 1_700_000_000) -> list[dict]:
    """Pushshift-format submissions linking to the site, with every case the links stage handles:
    karma above and below 3 (and below 3 per post but ≥ 3 summed), NSFW, self posts, tracking
    parameters, Wikipedia, image hosts, non-page files, robots-disallowed and missing pages."""
    rng = random.Random(seed)
    subs = ["learnpython", "programming", "Python", "coding", "europe"]
    posts: list[dict] = []

    def post(url: str, score, **extra) -> None:
        n = len(posts)
        created = start_utc + 3600 * n
        rec = {
            "id": f"demo{n:04d}", "author": f"user{rng.randrange(50)}", "created_utc": created,
            "subreddit": extra.pop("subreddit", rng.choice(subs)), "title": extra.pop("title", url.rsplit("/", 1)[-1]),
            "url": url, "domain": url.split("/")[2] if "://" in url else "self", "score": score,
            "num_comments": rng.randrange(40), "is_self": False, "over_18": False, "selftext": "",
            "permalink": f"/r/x/comments/demo{n:04d}/",
        }
        rec.update(extra)
        posts.append(rec)

    for i, page in enumerate(pages):
        url = base_url + page.path
        if i % 9 == 0:
            post(url, 1)  # one post below the karma bar ...
            post(url + "?utm_source=reddit&utm_medium=social", "2")  # ... but summed with a tracked copy: 3
        elif i % 13 == 5 and page.kind == "article":
            post(url, rng.randrange(0, 3))  # stays below 3: dropped
        else:
            post(url, rng.choice([3, 5, 8, 13, 40, 120, 7.0, "21"]))  # int, float and string scores
    post(base_url + pages[0].path, 50, over_18=True)  # NSFW (dropped by default)
    post("https://www.reddit.com/r/learnpython/comments/abc/", 30, is_self=True, selftext="What should I read?")
    post("https://en.wikipedia.org/wiki/Python_(programming_language)", 90)  # GPT-2 removed Wikipedia
    post("https://i.imgur.com/abcd123.jpg", 60)  # image host
    post(base_url + "/files/slides.pdf", 12)  # not a page by extension
    post(base_url + "/private/members.html", 15)  # disallowed by robots.txt
    post(base_url + "/missing/page.html", 9)  # 404
    post(base_url + "/files/report.json", 9)  # wrong content type
    return posts


def write_pushshift_dump(path: str, posts: list[dict]) -> None:
    """NDJSON compressed with zstd, like Pushshift's RS_*.zst (plus one line that is not JSON)."""
    import json

    import zstandard

    lines = [json.dumps(p, sort_keys=True) for p in posts]
    lines.insert(len(lines) // 2, "{this line is not json")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as fh:
        fh.write(zstandard.ZstdCompressor(level=10).compress(data))


# --------------------------------------------------------------------------- classifier and benchmark data
def quality_training_texts(pages: list[Page], seed: int = 0) -> tuple[list[str], list[str]]:
    """(positives, negatives) for the demo's GPT-3-style quality classifier.

    Positives: article paragraphs (curated prose). Negatives: what raw crawl text looks like
    when it is not prose — page chrome, keyword spam, and the same paragraphs with their
    words shuffled (word salad keeps the vocabulary but loses the language).
    """
    rng = random.Random(seed)
    positives = [p for _, _, paras in articles() for p in paras]
    chrome = ["We use cookies to improve your experience. Learn more Accept",
              f"© 2026 {SITE_NAME}. All rights reserved. Privacy · Terms · Contact",
              "Advertisement: Try our premium plan today! Popular Posted by the editors · 5 min read"]
    negatives = []
    for para in positives:
        words = para.split()
        rng.shuffle(words)
        negatives.append(" ".join(words))
    for i in range(len(positives) // 4):
        negatives.append(" ".join(rng.choice(SPAM_WORDS).upper() for _ in range(12)) + " CLICK HERE NOW!!!")
        negatives.append(rng.choice(chrome) + " " + " ".join(rng.choice(chrome).split()[:6]))
    return positives, negatives


ZEN_OF_PYTHON = [  # `import this`, decoded: text that ships with Python but is not on the demo site
    "Beautiful is better than ugly. Explicit is better than implicit. Simple is better than complex.",
    "Complex is better than complicated. Flat is better than nested. Sparse is better than dense.",
    "Readability counts. Special cases aren't special enough to break the rules. Although practicality beats purity.",
    "Errors should never pass silently. Unless explicitly silenced. In the face of ambiguity, refuse the temptation to guess.",
    "There should be one and preferably only one obvious way to do it. Although that way may not be obvious at first.",
    "Now is better than never. Although never is often better than right now. If the implementation is hard to explain, it's a bad idea.",
]


def benchmark_examples(pages: list[Page], n_dirty: int = 6) -> list[dict]:
    """A small test set for the contamination report: article passages (contaminated) and
    passages the site never shows (clean). Each example says which it is, for checking."""
    examples = []
    for slug, _, paras in articles()[:n_dirty]:
        examples.append({"id": f"dirty-{slug}", "text": max(paras, key=len), "planted": True})
    for i, text in enumerate(ZEN_OF_PYTHON):
        examples.append({"id": f"clean-{i}", "text": text, "planted": False})
    return examples
