"""Every Prometheus collector the server exports, with its name, help and buckets, in one place.

The server observes through `ServerMetrics`; benchmarks and tests read the exposition by the names below, so a
renamed metric breaks them at import, not silently.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from arxiv_embed.engine.batcher import BatchTimes

REQUESTS = "arxiv_embed_requests_total"  # by method, route template and status
REQUEST_SECONDS = "arxiv_embed_request_seconds"  # by method and route template
TEXTS_ENCODED = "arxiv_embed_texts_encoded_total"  # counted as they are handed to the encoder
RELOADS = "arxiv_embed_reloads_total"  # by outcome: swapped or refused
QUEUE_SECONDS = "arxiv_embed_encode_queue_seconds"  # one a caller of a micro-batch
ENCODE_SECONDS = "arxiv_embed_encode_seconds"  # one a micro-batch
BATCH_TEXTS = "arxiv_embed_batch_texts"  # one a micro-batch

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WAIT_BUCKETS = (0.001, 0.0025, *LATENCY_BUCKETS)
BATCH_TEXT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServerMetrics:
    """One app's collectors, in a registry of its own (several apps can live in one process, as in the tests);
    also the engine's observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(REQUESTS, "HTTP requests", ["method", "path", "status"], registry=registry)
        self.latency = Histogram(
            REQUEST_SECONDS, "HTTP request latency", ["method", "path"], buckets=LATENCY_BUCKETS, registry=registry
        )
        self.encoded = Counter(TEXTS_ENCODED, "texts encoded", registry=registry)
        self.reloads = Counter(RELOADS, "bundle reloads on SIGHUP", ["outcome"], registry=registry)
        self.queue_wait = Histogram(
            QUEUE_SECONDS,
            "a request's wait, its texts tokenized, until its micro-batch starts encoding",
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.compute = Histogram(
            ENCODE_SECONDS, "onnxruntime's run on one micro-batch", buckets=WAIT_BUCKETS, registry=registry
        )
        self.batch_texts = Histogram(
            BATCH_TEXTS, "texts in one micro-batch", buckets=BATCH_TEXT_BUCKETS, registry=registry
        )

    def request(self, method: str, path: str, status: int, seconds: float) -> None:
        self.latency.labels(method, path).observe(seconds)
        self.requests.labels(method, path, str(status)).inc()

    def reload(self, outcome: str) -> None:
        self.reloads.labels(outcome).inc()

    def texts_submitted(self, count: int) -> None:
        self.encoded.inc(count)

    def batch_encoded(self, times: BatchTimes) -> None:
        """Where a micro-batch's callers spent their time: waiting in the queue, or in the graph."""
        for wait in times.waits:
            self.queue_wait.observe(wait)
        self.compute.observe(times.compute)
        self.batch_texts.observe(times.texts)

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
