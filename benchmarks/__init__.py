"""Benchmarks: `python -m benchmarks.run` (what `make bench` runs). See benchmarks/README.md."""
