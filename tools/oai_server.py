"""A local OAI-PMH server that serves papers as arXiv records: the harvest's counterpart offline and in tests.

    python -m tools.oai_server ../shared/data/arxiv-papers.jsonl.gz --skip 100000 --limit 1000 --date 2026-12-01

serves 1,000 papers of the file as the new papers of 2026-12-01 (created and datestamped that day), at
http://127.0.0.1:8765/oai (ListRecords with `metadataPrefix=arXiv`, `from`, `until` and `set`, in pages behind
resumption tokens). Tests start it in-process
(`OaiServer`) with deletions, new versions and a first answer of `503 Retry-After`.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

from arxiv_embed.data.oai import ARXIV_OAI_PREFIX
from arxiv_embed.data.sources import PaperStream

OAI_NS, ARXIV_NS = "http://www.openarchives.org/OAI/2.0/", "http://arxiv.org/OAI/arXiv/"


@dataclass(frozen=True)
class Served:
    """One record the server lists: a paper (canonical columns) or, with `deleted`, only its id."""

    id: str
    datestamp: str
    title: str = ""
    abstract: str = ""
    categories: str = ""
    deleted: bool = False
    created: str = ""  # the date of its first version (arXiv's `created`); empty: not known, not sent

    @property
    def set_spec(self) -> str:
        """arXiv's sets: `cs`, `math`, ... and `physics:hep-th` for the physics archives."""
        archive = self.categories.split(".")[0].split()[0] if self.categories else ""
        return archive if archive in ("cs", "math", "q-bio", "q-fin", "stat", "econ", "eess") else f"physics:{archive}"

    def xml(self) -> str:
        status = ' status="deleted"' if self.deleted else ""
        header = (
            f"<header{status}><identifier>{ARXIV_OAI_PREFIX}{escape(self.id)}</identifier>"
            f"<datestamp>{self.datestamp}</datestamp><setSpec>{escape(self.set_spec)}</setSpec></header>"
        )
        if self.deleted:
            return f"<record>{header}</record>"
        fields = {"id": self.id, "created": self.created, "title": self.title, "categories": self.categories}
        fields["abstract"] = self.abstract
        body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items() if v)
        return f'<record>{header}<metadata><arXiv xmlns="{ARXIV_NS}">{body}</arXiv></metadata></record>'


class OaiServer:
    """ListRecords over `records` on 127.0.0.1, `page_size` per answer; the first `unavailable` requests get 503."""

    def __init__(
        self, records: list[Served], page_size: int = 50, unavailable: int = 0, retry_after: int = 1, port: int = 0
    ) -> None:
        self.records = sorted(records, key=lambda r: r.datestamp)
        self.page_size, self.unavailable, self.retry_after = page_size, unavailable, retry_after
        self.requests: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/oai"

    def __enter__(self) -> OaiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.http.shutdown()
        self.http.server_close()

    def answer(self, query: dict[str, str]) -> tuple[int, str]:
        """(HTTP status, body) of one OAI-PMH request."""
        with self.lock:
            self.requests.append(query)
            if self.unavailable:
                self.unavailable -= 1
                return 503, "busy"
        if query.get("verb") != "ListRecords":
            return 200, _envelope(query, '<error code="badVerb">only ListRecords is served</error>')
        if "resumptionToken" in query:
            try:
                since, until, set_spec, offset = query["resumptionToken"].split("|")
                offset = int(offset)
            except ValueError:
                return 200, _envelope(query, '<error code="badResumptionToken">unknown token</error>')
        else:
            if query.get("metadataPrefix") != "arXiv":
                return 200, _envelope(query, '<error code="cannotDisseminateFormat">only arXiv</error>')
            since, until, set_spec, offset = query.get("from", ""), query.get("until", ""), query.get("set", ""), 0
        matching = [
            r
            for r in self.records
            if (not since or r.datestamp >= since)
            and (not until or r.datestamp <= until)
            and (not set_spec or r.set_spec == set_spec or r.set_spec.startswith(f"{set_spec}:"))
        ]
        if not matching:
            return 200, _envelope(query, '<error code="noRecordsMatch">no records</error>')
        page = matching[offset : offset + self.page_size]
        following = offset + len(page)
        token = f"{since}|{until}|{set_spec}|{following}" if following < len(matching) else ""
        resumption = f'<resumptionToken cursor="{offset}" completeListSize="{len(matching)}">{token}</resumptionToken>'
        return 200, _envelope(query, f"<ListRecords>{''.join(r.xml() for r in page)}{resumption}</ListRecords>")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                query = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
                status, body = server.answer(query)
                data = body.encode()
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", str(server.retry_after))
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler


def _envelope(query: dict[str, str], body: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = "".join(f' {k}="{escape(v)}"' for k, v in query.items() if k.isalpha())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="{OAI_NS}"><responseDate>{now}</responseDate>'
        f"<request{attrs}>local</request>{body}</OAI-PMH>"
    )


def served_papers(papers: list[dict], datestamp: str) -> list[Served]:
    """Canonical papers (a source read by PaperStream) as the new papers of one day: first versions created on
    `datestamp`."""
    return [Served(p["id"], datestamp, p["title"], p["abstract"], p["categories"], created=datestamp) for p in papers]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("papers", help="a source file the download stage reads (.jsonl[.gz], .parquet, .csv)")
    parser.add_argument("--skip", type=int, default=0, help="papers of the file to pass over first")
    parser.add_argument("--limit", type=int, default=1000, help="papers to serve")
    parser.add_argument("--date", default=datetime.now(UTC).strftime("%Y-%m-%d"), help="their datestamp")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    papers = list(islice(PaperStream(args.papers), args.skip, args.skip + args.limit))
    with OaiServer(served_papers(papers, args.date), port=args.port) as server:
        print(f"serving {len(papers)} papers dated {args.date} at {server.url}", flush=True)
        server.thread.join()


if __name__ == "__main__":
    main()
