"""``make demo``: the end-to-end job on a site built from text that ships with Python, offline.

Usage: ``python -m pipelines.demo [--out demo-out] [beam flags]``.
"""

from __future__ import annotations

import argparse
import os
import sys

from corpus_tools.demo_site import build_site, write_warc
from pipelines import webtext


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__)
    ap.add_argument("--out", default="demo-out", help="folder for the demo's inputs and run directory")
    ap.add_argument("--seed", type=int, default=0)
    args, beam_args = ap.parse_known_args(argv)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    pages = build_site(seed=args.seed)
    warc = os.path.join(out, "demo-site.warc.gz")
    write_warc(warc, pages, "http://demo.webtext.test")
    print(f"demo: wrote {len(pages)} pages of the demo site to {warc}")
    run = os.path.join(out, "run")
    rc = webtext.main(["run", "--input", warc, "--out", run, "--stages", "extract", *beam_args])
    if rc == 0:
        print(f"demo: documents in {run}/docs, stats in {run}/stats/extract.json")
    return rc


if __name__ == "__main__":
    sys.exit(main())
