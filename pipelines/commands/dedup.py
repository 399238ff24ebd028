"""``webtext dedup``: exact, URL and MinHash-LSH near-duplicate removal (RUN/filtered → RUN/dedup)."""

from pipelines.stage import add_stage_arguments, run_single_stage


def add_parser(sub):
    p = sub.add_parser("dedup", help="remove exact, URL and near duplicates (RUN/dedup, the final corpus)",
                       description="Remove exact duplicates (normalised text), URL duplicates and MinHash-LSH "
                                   "near-duplicates; write the final corpus to RUN/dedup, the clusters to "
                                   "RUN/dedup/_clusters and the removed documents to RUN/dedup/_removed/<reason>.")
    add_stage_arguments(p, input_help="document Parquet folders or globs (default: RUN/filtered)")
    return p


def main(args) -> int:
    return run_single_stage(args, "dedup")
