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

ARTIFACT ?= arxiv-embed
IMAGE ?= arxiv-embed
PORT ?= 8000
BUMP ?= minor
TAG = $(or $(STAGE),$(VERSION),latest)
FETCHED = $(if $(STAGE)$(VERSION),build/bundle)

.PHONY: setup lock repro repro-sample update test lint params deps docs serve register image container

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

## Ship an experiment of `dvc exp show`: make it the workspace, commit it, push its outs to the DVC remote and
## register its bundle (the artifact $(ARTIFACT), models/bundle) as GTO's next version: v0.1.0 first, then
## one BUMP (minor) up. EXP=<name>.
register:
	$(if $(EXP),,$(error EXP=<experiment> is required: pick one in `dvc exp show`))
	dvc exp apply $(EXP)
	git add -u . && git add metrics dvclive
	git commit -qm "Register experiment $(EXP) as $(ARTIFACT)"
	dvc push
	gto register $(ARTIFACT) $$(gto show $(ARTIFACT)@latest >/dev/null 2>&1 && echo --bump-$(BUMP) || echo --version v0.1.0)

## The serving image of a registered bundle: STAGE=prod (the version in that GTO stage) or VERSION=v0.2.0,
## fetched from the DVC remote into build/bundle; with neither, the workspace's models/bundle. Tagged
## $(IMAGE):<stage|version|latest>; DOCKER_BUILD_ARGS go to `docker build`.
image:
	$(if $(FETCHED),python -m tools.fetch_bundle $(if $(STAGE),--stage $(STAGE),--version $(VERSION)) -o $(FETCHED))
	docker build $(DOCKER_BUILD_ARGS) --build-arg BUNDLE=$(or $(FETCHED),models/bundle) -t $(IMAGE):$(TAG) .

## `make image`, then run it detached as the container $(IMAGE) on PORT; /ready names the version it serves.
container: image
	docker rm -f $(IMAGE) >/dev/null 2>&1 || true
	docker run -d --name $(IMAGE) -p $(PORT):8000 $(IMAGE):$(TAG)

## Write dvc.yaml's code deps and params sections from what each stage imports and declares.
deps: setup
	python -m tools.stage_deps

## Regenerate README.md and docs/*.md from docs/templates/ and the committed metrics JSON.
docs: setup
	python -m tools.make_docs
