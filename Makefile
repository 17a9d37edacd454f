# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU wheel of this exact release lies on disk on our machines; an open range may pull a CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: demo test test-fast venv clean

# `web` (Gradio, about 190 MB with pandas) is installed so that the page's tests run in CI, not skip.
$(BIN)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[chess,plot,web,dev]"
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/loopzoo demo

test: venv
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# The quick lane (docs/contributing.md): no training, no subprocesses, no browser, no wheel build, no fuzzing.
test-fast: venv
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow and not fuzz and not subprocess and not browser and not wheel and not heavy"

clean:
	rm -rf $(VENV) build *.egg-info
