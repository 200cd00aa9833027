# Every target creates what it needs (the venv, pinned installs) and is safe to run again.
VENV   ?= .venv
PYTHON ?= python3
SAMPLE ?= $(abspath ../shared/data/arxiv-papers.jsonl.gz)
export PATH := $(abspath $(VENV))/bin:$(PATH)
# torch's CPU build (2.13.0+cpu) is not on PyPI: point TORCH_WHEELS at a folder or index page that holds it.
TORCH_WHEELS ?= /opt/wheels
LOCK_DIR ?= requirements
LOCK_FLAGS = --generate-hashes --find-links $(TORCH_WHEELS) --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command 'make lock'

.PHONY: setup lock repro repro-sample update test lint params deps docs serve

setup: $(VENV)/.installed

# Every version comes from the hashed lock; the project itself is installed without resolving anything.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r requirements/dev.txt
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

## Re-resolve the locks after editing pyproject.toml (keeps every pin that still fits; `uv pip compile --upgrade` moves them).
lock: setup
	uv pip compile pyproject.toml --extra pipeline --extra ray --extra dev $(LOCK_FLAGS) -o $(LOCK_DIR)/dev.txt
	uv pip compile pyproject.toml --extra serve $(LOCK_FLAGS) -c $(LOCK_DIR)/dev.txt -o $(LOCK_DIR)/serve.txt

## The main job: the whole pipeline from the default source (the Hugging Face dataset).
repro: setup
	dvc repro

## The main job offline, on the shared sample of real arXiv papers.
repro-sample: setup
	dvc exp run -S data.source=$(SAMPLE)

## The daily update: harvest what arXiv added or changed since the last harvest (harvest.yaml), embed only that
## shard, grow the served index, and tell a running server to swap it in: RELOAD="docker kill -s HUP arxiv-embed"
## or RELOAD="kill -HUP <pid>". Run after `make setup` (the scheduled workflow does both).
update:
	python -m stages.harvest
	if [ -d data/harvest ]; then dvc add -q data/harvest; fi
	dvc repro
	$(RELOAD)

test: setup
	pytest -q

lint: setup
	ruff check .

## Recompose params.yaml from configs/ exactly as `dvc exp run` does.
params: setup
	python -c "import os; from dvc.utils.hydra import compose_and_dump as c; c('params.yaml', os.path.abspath('configs'), None, 'config', '', [])"

serve: setup
	uvicorn serve.app:app --host 0.0.0.0 --port 8000

## Write dvc.yaml's code deps and params sections from what each stage imports and declares.
deps: setup
	python -m tools.stage_deps

## Regenerate README.md and docs/*.md from docs/templates/ and the committed metrics JSON.
docs: setup
	python -m tools.make_docs
