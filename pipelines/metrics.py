"""Beam counters, named so that the stage framework can turn them into stats.

In a DoFn: ``counter("filter", "in").inc()``, ``counter("filter", "reason.language").inc()``.
``in``/``out``/``reason.<r>`` become ``records_in``/``records_out``/``reasons`` in
``stats/<stage>.json``; every counter is also kept verbatim under ``counters``.
"""

from __future__ import annotations

from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter

NAMESPACE = "webtext.{stage}"


def counter(stage: str, name: str):
    return Metrics.counter(NAMESPACE.format(stage=stage), name)


def collect_counters(result, stage: str) -> dict[str, int]:
    """Committed counter values of one stage from a finished pipeline (summed over steps)."""
    flt = MetricsFilter().with_namespace(NAMESPACE.format(stage=stage))
    out: dict[str, int] = {}
    for c in result.metrics().query(flt)["counters"]:
        value = c.committed if c.committed is not None else c.attempted
        out[c.key.metric.name] = out.get(c.key.metric.name, 0) + int(value or 0)
    return dict(sorted(out.items()))


def split_counters(counters: dict[str, int]) -> tuple[int | None, int | None, dict[str, int]]:
    """(records_in, records_out, reasons) from counter names."""
    reasons = {k[len("reason."):]: v for k, v in counters.items() if k.startswith("reason.") and v}
    return counters.get("in"), counters.get("out"), dict(sorted(reasons.items()))
