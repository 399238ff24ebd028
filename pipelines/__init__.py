"""Beam pipelines, stage graphs and the ``webtext`` command line."""

import logging


def _drop_beam_gcp_import_noise(record: logging.LogRecord) -> bool:
    # apache-beam logs this on the root logger at import time when the optional GCP client
    # libraries are absent; it says nothing about the run (install `webtext[gcp]` for gs://).
    return not str(record.msg).startswith("apitools not found")


logging.getLogger().addFilter(_drop_beam_gcp_import_noise)
