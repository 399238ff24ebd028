"""``webtext datacard RUN``: write RUN/card (dataset card, datacard.json, figures) from what the run measured.

Always regenerates the card (the other stages may have been rerun since), and never needs Beam.
"""

from __future__ import annotations

import os

from corpus_tools.rundir import RunDir
from pipelines.stage import StageContext, StageError, execute_stage, resolve_recipe
from pipelines.stages import load_stage


def add_parser(sub):
    p = sub.add_parser(
        "datacard", help="write the dataset card RUN/card/README.md from the run's stats and outputs",
        description="Gather RUN/stats/*.json and the run's Parquet outputs into RUN/card/datacard.json, draw "
                    "RUN/card/figures/*.png and write RUN/card/README.md, a Hugging Face dataset card with the "
                    "Datasheets for Datasets questions answered where the run knows the answer. Stages that did "
                    "not run are reported as 'not run'.",
    )
    p.add_argument("run", metavar="RUN", help="run directory (local path or gs://, s3://)")
    p.add_argument("--recipe", metavar="TOML", default=None,
                   help="recipe file whose settings change those of RUN/recipe.toml (a [datacard] section with "
                        "the licence, say); the others stay as recorded")
    return p


def main(args) -> int:
    run = RunDir(args.run)
    if "://" not in args.run and not os.path.isdir(run.root):
        raise StageError(f"no run directory at {args.run}")
    if not run.is_run_directory():
        # a typo'd or wrong folder must not silently get a card of "not run" stages
        raise StageError(f"{args.run} is not a run directory (it has neither recipe.toml nor stats/)")
    ctx = StageContext(run, resolve_recipe(args, run))  # --recipe changes the settings it names
    execute_stage(load_stage("datacard"), ctx, force=True)
    return 0
