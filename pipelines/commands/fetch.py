"""``webtext fetch``: RUN/links (or --input) → RUN/warc/*.warc.gz and the fetch log."""

from pipelines.stage import add_stage_arguments, run_single_stage


def add_parser(sub):
    p = sub.add_parser("fetch", help="fetch the links politely into WARC files (RUN/warc)",
                       description="Fetch every link (robots.txt, per-host delay, timeouts, size caps, retries, "
                                   "SSRF guard) into gzip-per-record WARC/1.1 files in RUN/warc and write one "
                                   "fetch-log row per URL to RUN/warc/fetch_log. Private/loopback addresses are "
                                   "refused unless --allow-network (or [fetch] allow_networks) names them.")
    add_stage_arguments(p, input_help="links Parquet (LINK_SCHEMA) or plain-text URL lists, one URL a line "
                                      "(default: RUN/links from the links stage)")
    return p


def main(args) -> int:
    return run_single_stage(args, "fetch")
