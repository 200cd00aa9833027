"""Write each dvc.yaml stage's code deps and params from what its script imports and declares.

    python -m tools.stage_deps            # rewrite dvc.yaml (make deps)
    python -m tools.stage_deps --check    # exit 1 when dvc.yaml differs from what this would write

Code deps: every project module the stage's script imports, followed transitively (imports inside functions
included, since they run too), with the `__init__.py` of each package on the way, since importing a module runs
them. Params: the sections the script's `Params` dataclass declares. Data deps (anything that is not a project
module) are kept as written, after the code. So an edit to any module a stage runs makes `dvc status` name it.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("arxiv_embed", "stages")  # where a stage's own code can come from (serve/ and tools/ never run in one)
DVC_YAML = "dvc.yaml"


def module_file(name: str, root: Path) -> Path | None:
    """The file that `import name` runs last: a module's .py, or a package's __init__.py."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(name: str, root: Path) -> list[Path]:
    """`import a.b.c` runs a/__init__.py and a/b/__init__.py before c."""
    parts = name.split(".")
    inits = (root.joinpath(*parts[:i], "__init__.py") for i in range(1, len(parts)))
    return [p for p in inits if p.is_file()]


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    """Dotted names each import statement may load: the module itself and, for `from m import x`, `m.x`."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return [n for n in names if n.split(".")[0] in PACKAGES]


def code_deps(script_module: str, root: Path = ROOT) -> list[str]:
    """Every project file that running `python -m script_module` may import, sorted, relative to `root`."""
    seen: set[Path] = set()
    todo = [script_module]
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if path is None:  # `from pkg import function`: the name is not a module
            continue
        for file in [*_package_inits(name, root), path]:
            if file in seen:
                continue
            seen.add(file)
            dotted = ".".join(file.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            todo.extend(_imported_names(ast.parse(file.read_text()), dotted, file.name == "__init__.py"))
    return sorted(str(p.relative_to(root)) for p in seen)


def declared_sections(script: Path) -> list[str]:
    """The params sections a stage reads: the annotated fields of the `Params` dataclass in its script."""
    for node in ast.parse(script.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == "Params":
            return [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
    raise SystemExit(f"error: {script} declares no `Params` dataclass: list the sections the stage reads in one")


def stage_module(cmd: str) -> str | None:
    """`stages.x` from `python -m stages.x` or `torchrun ... -m stages.x`."""
    words = cmd.split()
    for flag, name in zip(words, words[1:], strict=False):
        if flag == "-m" and name.startswith("stages."):
            return name
    return None


def _is_code(dep: str) -> bool:
    """A module of the project's packages, present or not: a module that was moved or deleted leaves the deps."""
    return dep.endswith(".py") and dep.split("/")[0] in PACKAGES


def render(root: Path = ROOT) -> str:
    """dvc.yaml as it should be: each stage's code deps and params derived, the rest as written."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    doc = yaml.load((root / DVC_YAML).read_text())
    for name, entry in doc["stages"].items():
        stage = entry.get("do", entry)  # a `foreach` stage's body
        module = stage_module(stage["cmd"])
        if module is None:
            raise SystemExit(f"error: stage {name} does not run `python -m stages.<name>`; its deps cannot be derived")
        data = [d for d in stage.get("deps", []) if not (isinstance(d, str) and _is_code(d))]
        stage["deps"] = code_deps(module, root) + data
        sections = declared_sections(module_file(module, root))
        if sections:
            stage["params"] = sections
        elif "params" in stage:
            del stage["params"]
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is not what would be written")
    args = parser.parse_args()
    wanted, current = render(), (ROOT / DVC_YAML).read_text()
    if args.check:
        if wanted != current:
            sys.exit(f"error: {DVC_YAML} deps or params differ from the stages' imports: run `make deps`")
        return
    if wanted != current:
        (ROOT / DVC_YAML).write_text(wanted)
        print(f"wrote {DVC_YAML}")


if __name__ == "__main__":
    main()
