"""Benchmarks: run one with `python -m benchmarks.NAME`; each compares with a peer library in the same run."""
