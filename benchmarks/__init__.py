"""Reproducible performance runs of madoguchi, with baselines measured in the same run.

See ``docs/benchmarks.md``; ``python -m benchmarks`` runs a short version of all of them.
"""
