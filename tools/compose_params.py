"""`make params`: recompose params.yaml from configs/ as `dvc exp run` does, keeping the run's data source.

    python -m tools.compose_params [KEY=VALUE ...]      # Hydra overrides: profile=small harvest.url=...

A plain recomposition would drop the current `data.source` (back to the Hugging Face dataset, which fails
offline); this carries it over, then applies the overrides given. Any other setting of an earlier
`dvc exp run -S ...` is given again here: params.yaml does not record which of its values were overrides.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml
from dvc.utils.hydra import compose_and_dump

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"


def compose(params: Path, overrides: list[str], configs: Path = ROOT / "configs") -> None:
    """params.yaml from `configs` with `overrides`, written beside and renamed into place (never half-written)."""
    draft = params.with_name(f".{params.stem}.draft{params.suffix}")  # DVC picks its YAML writer by the suffix
    try:
        compose_and_dump(draft, str(configs), None, "config", "", overrides)
    except Exception as err:  # hydra's override and composition errors have no common public base
        draft.unlink(missing_ok=True)
        sys.exit(f"error: make params: {str(err).splitlines()[0]}")
    os.replace(draft, params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as `dvc exp run -S` takes them")
    args = parser.parse_args()
    source = yaml.safe_load(PARAMS.read_text())["data"]["source"] if PARAMS.is_file() else None
    kept = [f"data.source={source}"] if source else []
    compose(PARAMS, [*kept, *args.overrides])
    print(f"wrote params.yaml: configs/ with {' '.join([*kept, *args.overrides]) or 'no override'}")


if __name__ == "__main__":
    main()
