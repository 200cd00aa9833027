"""Benchmarks: each script prints one JSON object and writes it under metrics/; none of them is a test."""
