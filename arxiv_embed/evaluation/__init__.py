"""Retrieval and classification metrics with confidence intervals, and the embedding map plot."""
