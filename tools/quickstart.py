"""`make quickstart`: from a fresh clone to a served answer in minutes on a laptop.

    python -m tools.quickstart [--source PATH] [--port 8000] [--pid-file .serve.pid] [--check]

Runs the pipeline up to the served bundle with the `small` profile and the pretrained encoder (no fine-tuning; the
adapter is still trained): the first papers of the Hugging Face dataset when the hub answers, or a local file
(`--source`, a path relative to the repository, as dvc.lock records it). Then it starts the server on loopback,
prints the requests to try, and serves until Ctrl-C; `--check` runs each printed request through bash as printed,
prints the search's answer and stops the server (the tests' and the benchmark's mode). It is an experiment like any
other: `dvc exp show` lists it, and `make repro-sample` replaces it with the default run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from arxiv_embed.data.hub import hub_reachable
from tools.processes import wait_for_http

HF_SPEC = "sources/nick007x-arxiv-papers.yaml"
HF_PAPERS = 20_000  # read from the Hugging Face dataset: enough for the small profile's 5,000-paper corpus
# the small profile, the pretrained encoder, and no test report of simulated readers: the served recommendation
# method is chosen on val
OVERRIDES = ("profile=small", "train.epochs=0", "recommend.test_readers=0")
QUESTION = {"text": "Quantum error correction with surface codes under biased noise", "k": 3}
READY_TIMEOUT_S = 300


def overrides(source: str | None) -> list[str]:
    """The `-S` settings of the quickstart experiment, or SystemExit with one line naming the fix."""
    if source is None:
        if not hub_reachable():
            sys.exit(
                "error: the Hugging Face hub does not answer: run on a local file, "
                "make quickstart SAMPLE=path/to/papers.jsonl.gz (arXiv snapshot JSON lines, Parquet or CSV)"
            )
        return [*OVERRIDES, f"data.source={HF_SPEC}", f"data.max_papers={HF_PAPERS}"]
    if not Path(source).is_file():
        sys.exit(f"error: SAMPLE={source} is not a file: name a local papers file")
    return [*OVERRIDES, f"data.source={source}"]


def curl_lines(port: int) -> dict[str, str]:
    """The requests the quickstart prints, by the field their answer must hold."""
    body = json.dumps(QUESTION)
    classify = json.dumps({"text": QUESTION["text"]})
    return {
        "results": f"curl -s localhost:{port}/search -H 'content-type: application/json' -d '{body}'",
        "categories": f"curl -s localhost:{port}/classify -H 'content-type: application/json' -d '{classify}'",
        "status": f"curl -s localhost:{port}/ready",
    }


def ask_as_printed(lines: dict[str, str]) -> dict[str, dict]:
    """Each printed line run by bash exactly as printed, its JSON answer by the field it must hold; SystemExit
    naming the line when an answer is not JSON or lacks that field."""
    answers = {}
    for field, line in lines.items():
        out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60).stdout
        try:
            answers[field] = json.loads(out)
        except json.JSONDecodeError:
            answers[field] = {}
        if field not in answers[field]:
            sys.exit(f"error: the printed request `{line}` answered {out.strip()[:300]!r}")
    return answers


def start_server(port: int, pid_file: str | None = None) -> subprocess.Popen:
    """`python -m serve` on loopback (its log on this terminal), once it answers /ready."""
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    if pid_file:
        env["ARXIV_EMBED_PID_FILE"] = pid_file
    server = subprocess.Popen([sys.executable, "-m", "serve"], env=env)

    def exited() -> str | None:
        return None if server.poll() is None else f"it exited ({server.returncode}); its log is above"

    try:
        wait_for_http(f"http://127.0.0.1:{port}/ready", READY_TIMEOUT_S, exited)
    except RuntimeError as err:
        server.kill()
        sys.exit(f"error: {err}")
    return server


def answer_in(output: str) -> dict:
    """The `/search` answer that `--check` prints after the curl lines: the last JSON object of the output."""
    return json.loads(output[output.index("\n{") : output.rindex("}") + 1])


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a local papers file, relative to the repository; default: Hugging Face")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--pid-file", default=".serve.pid")
    parser.add_argument("--check", action="store_true", help="ask one question, print the answer, stop")
    args = parser.parse_args()
    settings = overrides(args.source)
    start = time.monotonic()
    built = subprocess.run(["dvc", "exp", "run", "bundle", *(arg for s in settings for arg in ("-S", s))])
    if built.returncode:
        sys.exit(built.returncode)
    server = start_server(args.port, args.pid_file)
    print(f"\nThe bundle was built in {time.monotonic() - start:.0f} s; serving it on port {args.port}. Try:\n")
    print("\n".join(f"  {line}" for line in curl_lines(args.port).values()), flush=True)
    if args.check:
        try:
            answer = ask_as_printed(curl_lines(args.port))["results"]
        finally:
            stop(server)
        print(json.dumps(answer, indent=2))
        print(f"answered {time.monotonic() - start:.1f} s after the start")
        sys.exit(0 if answer.get("results") else 1)
    print("\nCtrl-C stops the server; `make update` adds what arXiv published since and swaps it in.", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        stop(server)


if __name__ == "__main__":
    main()
