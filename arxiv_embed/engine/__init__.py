"""The serving engine: one loaded bundle answering embed, classify, search, recommend and paper look-ups with plain
results, for the server's routes, the benchmarks and the evaluation alike (no HTTP, no FastAPI)."""
