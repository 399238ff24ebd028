"""``webtext filter``: documents → language-ID'd, rule- and classifier-filtered documents (RUN/filtered)."""

from pipelines.stage import add_stage_arguments, run_single_stage


def add_parser(sub):
    p = sub.add_parser("filter", help="language ID + quality rules + quality classifier (RUN/docs → RUN/filtered)",
                       description="Fill language, language_score and quality_score; keep documents that pass "
                                   "language ID, the [filter] rules and the optional GPT-3 quality classifier. Kept "
                                   "documents go to RUN/filtered, removed ones to RUN/filtered/_removed/<reason>/, "
                                   "per-reason counts to RUN/stats/filter.json.")
    add_stage_arguments(p, input_help="document Parquet folders/globs (default: RUN/docs from the extract stage)")
    return p


def main(args) -> int:
    return run_single_stage(args, "filter")
