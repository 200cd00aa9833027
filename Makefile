# Every target creates what it needs (the venv, pinned installs) and is safe to run again.
VENV   ?= .venv
PYTHON ?= python3
SAMPLE ?= $(abspath ../shared/data/arxiv-papers.jsonl.gz)
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup repro repro-sample test lint params serve

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -U pip
	$(VENV)/bin/pip install -q 'torch==2.13.0'
	$(VENV)/bin/pip install -q -e '.[pipeline,ray,dev]'
	touch $@

## The main job: the whole pipeline from the default source (the Hugging Face dataset).
repro: setup
	dvc repro

## The main job offline, on the shared sample of real arXiv papers.
repro-sample: setup
	dvc exp run -S data.source=$(SAMPLE)

test: setup
	pytest -q

lint: setup
	ruff check .

## Recompose params.yaml from configs/ exactly as `dvc exp run` does.
params: setup
	python -c "import os; from dvc.utils.hydra import compose_and_dump as c; c('params.yaml', os.path.abspath('configs'), None, 'config', '', [])"

serve: setup
	uvicorn serve.app:app --host 0.0.0.0 --port 8000
