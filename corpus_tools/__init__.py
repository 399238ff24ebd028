"""Corpus logic as plain Python over plain data.

Nothing in this package imports Apache Beam, torch or :mod:`pipelines`: every
function here can be called from a notebook, a test or a Beam ``DoFn`` alike.
"""

__version__ = "0.1.0"
