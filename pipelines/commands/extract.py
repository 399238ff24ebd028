"""``webtext extract``: WARC/WET files → documents (RUN/docs)."""

from pipelines.stage import add_stage_arguments, run_single_stage


def add_parser(sub):
    p = sub.add_parser("extract", help="WARC/WET files → main-text documents (RUN/docs)",
                       description="Read WARC response records (HTML) and WET conversion records, extract main "
                                   "text, write Parquet documents to RUN/docs and dead letters to RUN/docs/_rejected. "
                                   "Files are WARC/WET by suffix (.warc[.gz], .wet[.gz], .arc[.gz]), else by first "
                                   "bytes; Reddit dumps are refused (webtext links reads them).")
    add_stage_arguments(p, input_help="WARC/WET files or globs (default: RUN/warc from the fetch stage)")
    return p


def main(args) -> int:
    return run_single_stage(args, "extract")
