"""The stages of a run, in pipeline order.

Each stage lives in ``pipelines/stages/<name>.py`` and defines a module-level ``STAGE``
(an instance of :class:`pipelines.stage.Stage`). Modules are imported only when used.
"""

from __future__ import annotations

import importlib

from pipelines.stage import Stage, StageError

STAGES: tuple[str, ...] = (
    "links", "fetch", "extract", "filter", "dedup", "bloom", "contamination", "tokenize", "datacard",
)


def load_stage(name: str) -> Stage:
    if name not in STAGES:
        raise StageError(f"unknown stage {name!r}; stages are: {', '.join(STAGES)}")
    try:
        module = importlib.import_module(f"pipelines.stages.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"pipelines.stages.{name}":
            raise StageError(f"stage {name!r} is not available in this build") from None
        raise
    return module.STAGE


def available_stages() -> list[str]:
    return [s for s in STAGES if importlib.util.find_spec(f"pipelines.stages.{s}") is not None]
