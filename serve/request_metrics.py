"""Each HTTP request's latency and status, by route, into the server's Prometheus collectors.

A plain ASGI middleware rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every request
through an extra task and memory streams, which cost 5-10% of requests/s on two cores (benchmarks/peer.py).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestMetrics:
    """Observe each request's latency and count it by method, route template and status code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a response

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            server = getattr(scope["app"].state, "server", None)
            if server:
                route = scope.get("route")
                path = route.path if route else "unmatched"
                server.metrics.request(scope["method"], path, status, time.perf_counter() - start)
