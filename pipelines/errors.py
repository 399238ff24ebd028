"""Errors the CLI prints as one line with exit status 2 (bad input, not bugs).

Defined here rather than in ``pipelines.webtext`` so that the same class is caught when the
CLI runs as ``python -m pipelines.webtext`` (where that module is ``__main__``).
"""


class UserError(Exception):
    """Bad input: printed as one line, exit status 2."""
