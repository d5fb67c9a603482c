"""Speed and quality benchmarks, each run as ``python -m evals.bench.<name>``; the last line
printed is ``RESULT <name> key=value ...``."""
