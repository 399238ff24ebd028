"""`webtext extract` on a real WARC: a page that stalls extraction is dead-lettered as `timeout`
while the other pages are extracted (with the combined extractor and the language hint)."""

from __future__ import annotations

import glob
import io
import json
import os

import pyarrow.parquet as pq
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.webtext import main as webtext


def write_warc(path: str, pages: dict[str, bytes]) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages.items():
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))


def test_stalling_page_is_dead_lettered(shared_data, tmp_path):
    gold_html = (shared_data / "extraction" / "htmltotext" / "en" / "html" / "blog-leogao-1.html").read_bytes()
    slow = ("<html><body>" + "".join(f"<div><p>word {i} and some more text here</p></div>" for i in range(40000))
            + "</body></html>").encode()
    warc = str(tmp_path / "pages.warc.gz")
    write_warc(warc, {"https://leogao.dev/2020/05/29/GPT-3-A-Brief-Summary/": gold_html,
                      "https://slow.example/huge": slow})
    recipe = tmp_path / "recipe.toml"
    recipe.write_text("[extract]\ntimeout_s = 2.0\n", encoding="utf-8")
    run = str(tmp_path / "run")
    assert webtext(["extract", "--input", warc, "--out", run, "--recipe", str(recipe)]) == 0

    docs = [r for f in sorted(glob.glob(os.path.join(run, "docs", "*.parquet"))) for r in pq.read_table(f).to_pylist()]
    assert [d["url"] for d in docs] == ["https://leogao.dev/2020/05/29/GPT-3-A-Brief-Summary/"]
    d = docs[0]
    assert d["title"] == "Why GPT-3 Matters" and d["date"] == "2020-05-29" and d["extractor"] == "trafilatura"
    assert "order of magnitude larger than Microsoft" in d["text"]
    assert json.loads(d["metadata"])["language_hint"] == "en"

    rejects = [r for f in sorted(glob.glob(os.path.join(run, "docs", "_rejected", "*.parquet")))
               for r in pq.read_table(f).to_pylist()]
    assert [(r["url"], r["reason"]) for r in rejects] == [("https://slow.example/huge", "timeout")]
    stats = json.load(open(os.path.join(run, "stats", "extract.json")))
    assert stats["reasons"] == {"timeout": 1} and stats["records_out"] == 1
