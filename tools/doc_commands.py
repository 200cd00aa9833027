"""The shell commands that README.md and docs/ show, and how the suite checks each one.

    python -m tools.doc_commands          # one line per command: page, how it is checked (or why not), the line

Every fenced `bash` or `console` block is read line by line (a `console` block's commands start with `$ `; its
other lines are what they print). A command is checked by the first entry of `CHECKS` whose prefix it starts
with (tests/test_doc_commands.py runs the checks). A block holding a command that no check covers carries a mark
on the line above its fence, `<!-- not run here: REASON -->`, saying why (it needs a GPU, a cluster, a cloud
bucket); a test fails on a block with such a command and no mark, and on a mark that covers nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL = ("bash", "console")
MARK = re.compile(r"<!-- not run here: (?P<reason>.+?) -->")
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.S | re.M)
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_]+)=(?P<value>\S+)")
ENV_PREFIX = re.compile(r"^(?:[A-Z_]+=\S+\s+)+(?=\S)")  # `RAY_ADDRESS=auto dvc ...`
OPTIONS = "the module runs (--help) and takes every option the line gives"
READS = "run in a copy of the tiny run's repository (it only reads)"
# how each kind of command is checked, by what the command starts with; the first match wins
CHECKS = {
    "curl ": "run through bash as printed against the tiny bundle's server; status and fields as the page shows",
    "make ": "make -n: the target exists and its recipe expands",
    "dvc exp run ": "its -S settings composed as DVC composes them, and every stage's params section validated",
    "python -m tools.": OPTIONS,
    "python -m benchmarks.": OPTIONS,
    "dvc exp show": READS,
    "dvc metrics diff": READS,
    "dvc plots show": READS,
}


@dataclass(frozen=True)
class Shown:
    """The answer a page shows under a request: its HTTP status and its text (JSON or XML)."""

    status: int
    text: str
    lang: str


@dataclass(frozen=True)
class Command:
    page: str
    line: str  # as printed, without a console block's `$ ` and the comment
    variables: dict[str, str] = field(default_factory=dict)  # shell variables the block set before it
    shown: Shown | None = None  # the answer under the block, when the page shows one

    @property
    def check(self) -> str | None:
        """The kind of check that covers this command (a key of CHECKS), or None."""
        bare = ENV_PREFIX.sub("", self.line)
        return next((prefix for prefix in CHECKS if bare.startswith(prefix)), None)

    @property
    def words(self) -> list[str]:
        """The command's words as the shell splits them, variables expanded, comments and env prefixes gone."""
        words = [w for w in shlex.split(ENV_PREFIX.sub("", self.line), comments=True) if w != "&"]
        return [re.sub(r"\$(\w+)", lambda m: self.variables.get(m.group(1), m.group(0)), w) for w in words]


@dataclass(frozen=True)
class Block:
    page: str
    lang: str
    line_no: int
    commands: list[Command]
    mark: str | None  # the reason given above the fence

    @property
    def unchecked(self) -> list[Command]:
        return [c for c in self.commands if c.check is None]


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _shown_after(text: str, end: int) -> Shown | None:
    """The JSON or XML block right after position `end`, with `HTTP NNN:` before it when the status is not 200."""
    after = re.match(
        r"\s*(?:HTTP (?P<status>\d{3}):\s*)?```(?P<lang>json|xml)\n(?P<body>.*?)^```", text[end:], re.S | re.M
    )
    if not after:
        return None
    return Shown(int(after.group("status") or 200), after.group("body"), after.group("lang"))


def _commands(page: str, lang: str, body: str, shown: Shown | None) -> list[Command]:
    found, variables = [], {}
    lines = body.splitlines()
    if lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    joined = "\n".join(lines).replace("\\\n", " ")
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if (assigned := ASSIGNMENT.match(line)) and line.split("#")[0].strip() == assigned.group(0):
            variables = {**variables, assigned.group("name"): assigned.group("value")}
            continue
        code = re.split(r"\s+#", line, maxsplit=1)[0]  # the comment, which may hold `;`, is the reader's
        for part in re.split(r"\s*;\s+|\s+(?:&&|\|)\s+", code):  # `a | b`, `a && b`, `a; b`: commands of their own
            found.append(Command(page, part.strip(), variables, shown))
    return found


def blocks(root: Path = ROOT) -> list[Block]:
    """Every shell block of the pages, with its commands and its mark."""
    found = []
    for path in pages(root):
        text, page = path.read_text(), str(path.relative_to(root))
        for fence in FENCE.finditer(text):
            if fence.group("lang") not in SHELL:
                continue
            above = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = MARK.fullmatch(above.strip())
            shown = _shown_after(text, fence.end())
            found.append(
                Block(
                    page,
                    fence.group("lang"),
                    text[: fence.start()].count("\n") + 1,
                    _commands(page, fence.group("lang"), fence.group("body"), shown),
                    mark.group("reason") if mark else None,
                )
            )
    return found


def main() -> None:
    for block in blocks():
        for command in block.commands:
            how = command.check.strip() if command.check else f"not run here: {block.mark or 'NO REASON GIVEN'}"
            print(f"{block.page}:{block.line_no}  [{how}]  {command.line}")


if __name__ == "__main__":
    main()
