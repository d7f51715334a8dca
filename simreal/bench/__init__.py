"""Benchmarks behind ``simreal bench``; each prints one JSON object as its last line."""
