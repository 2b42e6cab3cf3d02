# The two commands of the README.
PROMPT ?= a red circle moving left on a black background
OUT ?= outputs/video.gif
PY ?= python

.PHONY: install install-dev generate test notebooks instructor train-tiny

install:
	$(PY) -m pip install -q -r requirements.txt

install-dev: install
	$(PY) -m pip install -q -r requirements-dev.txt

generate: install
	$(PY) -m minicog.generate "$(PROMPT)" --out "$(OUT)"

# unit tests + notebooks (nbval, fast mode), as CI runs them: the student editions top to bottom and
# the instructor editions' exercise sections (built first, in seconds, for every language; docs/notebooks.md "Tests")
test: install-dev
	$(PY) tools/nb.py instructor --lang en
	$(foreach lang,$(notdir $(wildcard notebooks/src/??)),$(PY) tools/nb.py instructor --lang $(lang) &&) true
	MINICOG_FAST=1 $(PY) -m pytest -q

# The notebooks (docs/notebooks.md). notebooks: the student editions notebooks/NN_*.ipynb, executed in
# full mode (MINICOG_FAST unset) with their outputs kept, rebuilt where notebooks/src/NN_*.py changed
# (FORCE=1: all; SRC="notebooks/src/01_dit.py ...": some); NB_CELL_S limits one cell (seconds); a failed
# week is named at the end and the others are still built. instructor: coursework/instructor/NN_*.ipynb,
# solutions in, not committed, nothing executed. NB_LANG: the edition's language (en; a notebooks/src/LANG/
# folder gives notebooks/LANG/).
SRC ?=
NB_LANG ?= en
NB_CELL_S ?= 900
notebooks: install-dev
	NB_CELL_S=$(NB_CELL_S) $(PY) tools/nb.py notebooks $(SRC) --lang $(NB_LANG) $(if $(FORCE),--force)

instructor:
	$(PY) tools/nb.py instructor $(SRC) --lang $(NB_LANG)

# Train the tiny models from random weights with the one recipe (docs/training.md, docs/causal_vae.md),
# three stages, each resumable (a rerun continues a stopped stage from its last checkpoint; a
# finished stage is not rerun — delete its folder to redo it):
# 1. the causal VAE, whole, on one-object clips: 2500 steps (the shipped encoder's recipe) → $(VAE_BASE)
# 2. its decoder fine-tuned on the mixture of one- and two-object clips, 300 steps; the encoder, and
#    so the latent space, kept → $(VAE_MIX) (rebuilt when the Shapes world or the VAE trainer changed)
# 3. the text-to-video model, `--preset tiny`, 40000 steps on that VAE's latents → $(DIT_RUN), exported
#    to $(RELEASE)
# $(TINY) (assets/tiny) is replaced only at the end, in one step, so a stop half-way never pairs a new
# VAE with the old DiT. The step counts and VAE_ARGS/DIT_ARGS (extra flags) exist for a small dry
# run of the chain (tests/test_train.py); DIT_STEPS empty is the preset's schedule.
RELEASE ?= runs/release
VAE_BASE ?= runs/vae_one_object
VAE_MIX ?= runs/vae_mix
DIT_RUN ?= runs/tiny
TINY ?= assets/tiny
VAE_STEPS ?= 2500
DECODER_STEPS ?= 300
DIT_STEPS ?=
VAE_ARGS ?=
DIT_ARGS ?=
$(VAE_BASE)/model.safetensors:
	$(PY) -m minicog.train_vae --steps $(VAE_STEPS) --decoder-steps 0 --two-objects 0 --out $(VAE_BASE) $(VAE_ARGS)
$(VAE_MIX)/model.safetensors: $(VAE_BASE)/model.safetensors minicog/shapes/world.py minicog/shapes/drawing.py minicog/shapes/dataset.py minicog/train_vae.py
	$(PY) -m minicog.train_vae --init $(VAE_BASE) --steps 0 --decoder-steps $(DECODER_STEPS) --two-objects 0.5 --out $(VAE_MIX) $(VAE_ARGS)
train-tiny: install $(VAE_MIX)/model.safetensors
	$(PY) -m minicog.train --preset tiny $(if $(DIT_STEPS),--steps $(DIT_STEPS)) --out $(DIT_RUN) --export $(RELEASE) --set vae='"$(VAE_MIX)"' $(DIT_ARGS)
	$(PY) -m minicog.utils replace-folder $(RELEASE) $(TINY)

# The live demos (every ipywidgets slider/button of the course) driven in headless Chromium through
# JupyterLab; screenshots and response times in outputs/browser/. Needs Debian's chromium
# (apt-get install -y chromium), a system package, so it is not part of `make test`; .ci/run installs
# chromium and runs it after `make test` (about 11 min for both languages): docs/browser_test.md.
.PHONY: browser-test
browser-test: install-dev
	$(PY) -m pip install -q -r tests/browser/requirements.txt
	MINICOG_BROWSER_TEST=1 MINICOG_FAST=1 $(PY) -m pytest -q -p no:cacheprovider -o addopts= tests/browser

# Graded exercises (docs/coursework.md), with nbgrader from requirements-dev.txt (make install-dev).
# grade: grade the exercises of NB (a student's, the committed student edition or an instructor edition;
# several may be given, e.g. NB="notebooks/*.ipynb"); prints a table and, last, "score: X/Y".
# coursework: the same as `make instructor` (the student edition is notebooks/ itself).
.PHONY: coursework grade
coursework: instructor

grade:
	@test -n "$(NB)" || { echo 'usage: make grade NB=path/to/NN_name.ipynb'; exit 2; }
	@$(PY) tools/coursework.py grade $(NB)

# The course as a static book: each committed student edition (already executed: `make notebooks`)
# exported by nbconvert to $(BOOK)/NN_name.html without running anything, figures and videos inline,
# plus an index.html; fails if a page lacks a figure or video of its notebook. WEEKS picks notebooks
# (e.g. WEEKS=notebooks/06_*.ipynb). docs/book.md.
BOOK ?= outputs/book
WEEKS ?= notebooks/[0-9][0-9]_*.ipynb
.PHONY: book
book: install-dev
	$(PY) tools/nb.py html $(WEEKS) --out $(BOOK)

# Slides for lecturing: one reveal.js page per week from the committed notebooks, nothing executed; a
# heading starts a slide, a second figure a sub-slide, the graded exercises are left out (docs/book.md).
# NB_LANG=ko: the Korean edition (notebooks/ko/).
SLIDES ?= outputs/slides
.PHONY: slides
slides: install-dev
	$(PY) tools/slides.py $(if $(filter en,$(NB_LANG)),notebooks/[0-9][0-9]_*.ipynb,notebooks/$(NB_LANG)/[0-9][0-9]_*.ipynb) --out $(SLIDES)$(if $(filter en,$(NB_LANG)),,/$(NB_LANG))
