"""Micro-batching: concurrent requests' texts are encoded in one onnxruntime call instead of one call each.

On a CPU one batched call of n texts costs far less than n calls, so under load the server answers more
requests per second and each waits less. A batch is cut by tokens, as the encoder cuts its calls: requests join
one until it holds `max_tokens` (a bigger request goes alone and the encoder splits it). Small batches keep
concurrent clients out of step, so that one batch is encoded while the answers to the last one are sent and the
next requests are parsed, instead of the encoder waiting for all of them. Each request's texts are tokenized on a
worker thread as it arrives, while the graph runs on the batch before.

Each batch reports where its callers' time went (`BatchTimes`): how long each waited in the queue after its texts
were tokenized, and how long the graph ran, so that a growing tail can be told apart from slow encoding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from tokenizers import Encoding


class TokenEncoder(Protocol):
    def tokenize(self, texts: Sequence[str]) -> list[Encoding]: ...

    def encode_tokens(self, encodings: list[Encoding]) -> np.ndarray: ...


@dataclass(frozen=True)
class Job:
    encodings: list[Encoding]
    answer: asyncio.Future
    queued_at: float  # time.perf_counter() when its texts were tokenized


@dataclass(frozen=True)
class BatchTimes:
    """One encoded batch: each caller's wait in the queue, the graph's run, and the batch's size."""

    waits: list[float]  # seconds, one a caller
    compute: float  # seconds
    texts: int
    tokens: int


class MicroBatcher:
    """Collect tokenized texts from concurrent callers for up to `max_wait_ms` or `max_tokens`, encode them
    together, hand back each caller's share."""

    def __init__(
        self,
        encoder: TokenEncoder,
        max_tokens: int,
        max_wait_ms: float,
        on_batch: Callable[[BatchTimes], None] | None = None,
    ) -> None:
        self.encoder = encoder
        self.on_batch = on_batch
        self.max_tokens = max_tokens
        self.max_wait = max_wait_ms / 1000
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.company = False  # whether the last batch had more than one caller
        self.worker: asyncio.Task | None = None

    def start(self) -> None:
        self.worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.worker:
            self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)

    async def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """The texts' vectors and the number of tokens encoded for them (special tokens in, truncated ones out)."""
        loop = asyncio.get_running_loop()
        encodings = await loop.run_in_executor(None, self.encoder.tokenize, texts)
        future = loop.create_future()
        await self.queue.put(Job(encodings, future, time.perf_counter()))
        return await future, sum(len(e.ids) for e in encodings)

    async def _collect(self) -> list[Job]:
        """The next job, the jobs already waiting, and, if the last batch had company, those that arrive within
        `max_wait`, while the batch stays within `max_tokens`. A lone caller is not kept waiting for others."""
        loop = asyncio.get_running_loop()
        jobs = [await self.queue.get()]
        tokens = sum(len(e.ids) for e in jobs[0].encodings)
        deadline = loop.time() + (self.max_wait if self.company else 0.0)
        while tokens < self.max_tokens:
            if self.queue.empty():
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
            else:
                job = self.queue.get_nowait()
            jobs.append(job)
            tokens += sum(len(e.ids) for e in job.encodings)
        self.company = len(jobs) > 1
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect()
            encodings = [e for job in jobs for e in job.encodings]
            start = time.perf_counter()
            try:
                vectors = await loop.run_in_executor(None, self.encoder.encode_tokens, encodings)
            except Exception as err:  # noqa: BLE001 - every waiting caller must hear of the failure
                for job in jobs:
                    if not job.answer.done():
                        job.answer.set_exception(err)
                continue
            if self.on_batch:
                waits = [start - job.queued_at for job in jobs]
                self.on_batch(
                    BatchTimes(waits, time.perf_counter() - start, len(encodings), sum(len(e.ids) for e in encodings))
                )
            first = 0
            for job in jobs:
                if not job.answer.done():
                    job.answer.set_result(vectors[first : first + len(job.encodings)])
                first += len(job.encodings)
