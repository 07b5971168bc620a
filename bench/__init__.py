"""Benchmarks and stress scripts; each prints figures measured against baselines in the same run."""
