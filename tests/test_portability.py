"""Dataflow readiness: stage graphs serialise to the portable runner API (every DoFn pickles)."""

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from corpus_tools.recipe import Recipe
from corpus_tools.rundir import RunDir
from pipelines.stage import StageContext
from pipelines.stages import load_stage


def roundtrip(p):
    proto = p.to_runner_api()
    assert proto.components.transforms, "empty graph"
    again = beam.Pipeline.from_runner_api(proto, p.runner, PipelineOptions([]))
    return proto, again


def test_extract_graph_serialises(shared_data, tmp_path):
    ctx = StageContext(RunDir(tmp_path / "run"), Recipe(), inputs=[str(shared_data / "warc" / "*.warc.gz")],
                       build_only=True)
    ctx._stage = "extract"
    load_stage("extract").run(ctx)
    (p,) = ctx.built
    proto, _ = roundtrip(p)
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert {"ReadWarc", "Extract", "WriteDocs", "WriteRejects"} <= {n.split("/")[0] for n in names}
    # the graph carries our DoFns pickled: a ParDo payload exists for the extract step
    pardos = [t for t in proto.components.transforms.values() if t.spec.urn == "beam:transform:pardo:v1"]
    assert len(pardos) >= 4
    assert not (tmp_path / "run" / "docs").exists()  # nothing ran
