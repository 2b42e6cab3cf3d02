# The two commands of the README.
PROMPT ?= a red circle moving left on a black background
OUT ?= outputs/video.gif
PY ?= python

.PHONY: install install-dev generate test notebooks

install:
	$(PY) -m pip install -q -r requirements.txt

install-dev: install
	$(PY) -m pip install -q -r requirements-dev.txt

generate: install
	$(PY) -m minicog.generate "$(PROMPT)" --out "$(OUT)"

# unit tests + notebooks (nbval, fast mode), as CI runs them
test: install-dev
	MINICOG_FAST=1 $(PY) -m pytest -q
