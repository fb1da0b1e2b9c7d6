"""koepel's benchmarks: the node, the import, the federation and the noise, against floors.

``python -m bench`` (``make bench``) runs everything and writes ``bench/results/<date>.json``;
see bench/README.md for what each figure means.
"""

from bench.cli import MODES, Plan, main
from bench.measure import Row

__all__ = ["MODES", "Plan", "Row", "main"]
