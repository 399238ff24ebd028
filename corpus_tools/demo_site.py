"""A small, realistic web site built only from text that ships with Python, for the offline demo.

Articles are the reference topics of ``pydoc_data.topics`` (real English prose from the Python
documentation), each wrapped in typical page boilerplate (navigation, cookie banner, sidebar,
footer) so extraction has something to remove. Beside them the site has pages that each later
stage should remove, every one for a stated reason:

* ``near-dup``: an article with a few words changed (MinHash near-duplicate);
* ``copy``: the same article at a second URL (exact duplicate);
* ``spam``: keyword-stuffed, repetitive text (Gopher repetition / quality rules);
* ``foreign``: German, French and Spanish pages (language ID);
* ``thin``: a page with almost no text (minimum length).

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
    kind: str  # article | near-dup | copy | spam | foreign | thin


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
