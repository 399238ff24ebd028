"""Shim so Beam runners can ship this package to workers with ``--setup_file ./setup.py``.

All metadata lives in pyproject.toml; this only hands it to setuptools.
"""

from setuptools import setup

setup()
