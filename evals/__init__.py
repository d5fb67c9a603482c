"""Evaluations and benchmarks of memo-graph."""
