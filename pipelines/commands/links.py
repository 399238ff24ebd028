"""``webtext links``: Reddit submission dumps → canonical outbound URLs with karma (RUN/links)."""

from pipelines.stage import add_stage_arguments, run_single_stage


def add_parser(sub):
    p = sub.add_parser("links", help="Reddit submission dumps → canonical outbound URLs with karma (RUN/links)",
                       description="Read Pushshift submission dumps (RS_*.zst|xz|bz2|gz or NDJSON), keep link "
                                   "posts to http(s) pages, canonicalise and group their URLs, keep URLs whose "
                                   "summed score reaches [links] min_karma (WebText: 3); write Parquet and "
                                   "_urls.txt to RUN/links and dead letters to RUN/links/_rejected. WARC/WET files "
                                   "(by suffix, else first bytes) are refused (webtext extract reads them).")
    add_stage_arguments(p, input_help="Reddit submission dumps: files, folders or globs (RS_*.zst ...)")
    return p


def main(args) -> int:
    return run_single_stage(args, "links")
