# The two commands of the README.
PROMPT ?= a red circle moving left on a black background
OUT ?= outputs/video.gif
PY ?= python

.PHONY: install install-dev generate test notebooks train-tiny

install:
	$(PY) -m pip install -q -r requirements.txt

install-dev: install
	$(PY) -m pip install -q -r requirements-dev.txt

generate: install
	$(PY) -m minicog.generate "$(PROMPT)" --out "$(OUT)"

# unit tests + notebooks (nbval, fast mode), as CI runs them
test: install-dev
	MINICOG_FAST=1 $(PY) -m pytest -q

# Train the tiny models with the one recipe (docs/training.md): the VAE's decoder fine-tuned on the
# mixture of one- and two-object scenes, starting from the one-object VAE of commit 7c7c31a (read from
# git, so a second run starts from the same weights; its encoder, and so the latent space, is kept),
# then the text-to-video model in one run from random weights. Both write to $(RELEASE); assets/tiny
# is replaced only at the end, in one step, so a stop half-way never pairs a new VAE with the old DiT.
# Re-running resumes.
RELEASE ?= runs/release
VAE_BASE ?= runs/vae_one_object
VAE_MIX ?= runs/vae_mix
$(VAE_BASE)/model.safetensors:
	mkdir -p $(VAE_BASE)
	git show 7c7c31a:assets/tiny/vae/config.json > $(VAE_BASE)/config.json
	git show 7c7c31a:assets/tiny/vae/model.safetensors > $(VAE_BASE)/model.safetensors.part
	mv $(VAE_BASE)/model.safetensors.part $(VAE_BASE)/model.safetensors
# rebuilt when the world or the VAE trainer changed since (a runs/vae_mix of an older checkout, e.g.
# one fine-tuned on smaller two-object shapes, is not reused)
$(VAE_MIX)/model.safetensors: $(VAE_BASE)/model.safetensors minicog/shapes/world.py minicog/shapes/drawing.py minicog/shapes/dataset.py minicog/train_vae.py
	$(PY) -m minicog.train_vae --init $(VAE_BASE) --steps 0 --two-objects 0.5 --out $(VAE_MIX)
train-tiny: install $(VAE_MIX)/model.safetensors
	$(PY) -m minicog.train --preset tiny --out runs/tiny --export $(RELEASE) --set vae='"$(VAE_MIX)"'
	$(PY) -m minicog.utils replace-folder $(RELEASE) assets/tiny

# The live demos (every ipywidgets slider/button of the course) driven in headless Chromium through
# JupyterLab; screenshots and response times in outputs/browser/. Needs Debian's chromium
# (apt-get install -y chromium), a system package, so it is not part of `make test`; .ci/run installs
# chromium and runs it after `make test` (about 2.5 min idle): docs/browser_test.md.
.PHONY: browser-test
browser-test: install-dev
	$(PY) -m pip install -q -r tests/browser/requirements.txt
	MINICOG_BROWSER_TEST=1 MINICOG_FAST=1 $(PY) -m pytest -q -p no:cacheprovider -o addopts= tests/browser

# Graded exercises (docs/coursework.md), with nbgrader from requirements-dev.txt (make install-dev).
# coursework: the student editions coursework/student/NN_*.ipynb, made from the instructor notebooks.
# grade: grade the exercises of NB (a student's or an instructor's edition; several may be given,
# e.g. NB="coursework/student/*.ipynb"); prints a table and, last, "score: X/Y".
.PHONY: coursework grade
coursework:
	$(PY) tools/coursework.py student

grade:
	@test -n "$(NB)" || { echo 'usage: make grade NB=path/to/NN_name.ipynb'; exit 2; }
	@$(PY) tools/coursework.py grade $(NB)

# The course as a static book: every week executed in full mode (MINICOG_FAST unset) by nbconvert
# (`--execute --to html`) into $(BOOK)/NN_name.html, videos inline (base64 GIFs), plus an index.html.
# One notebook at a time; each cell may run BOOK_CELL_S seconds, each notebook BOOK_NB_S and the
# whole book BOOK_TOTAL_S, so a stuck cell cannot hang it; a failed week is named at the end and the
# others are still rendered. WEEKS picks notebooks (e.g. WEEKS=notebooks/06_*.ipynb). docs/book.md.
BOOK ?= outputs/book
WEEKS ?= notebooks/[0-9][0-9]_*.ipynb
BOOK_CELL_S ?= 900
BOOK_NB_S ?= 1800
BOOK_TOTAL_S ?= 7200
.PHONY: book
book: install-dev
	@mkdir -p $(BOOK); failed=""; deadline=$$(( $$(date +%s) + $(BOOK_TOTAL_S) )); \
	for nb in $(WEEKS); do \
	  name=$$(basename $$nb .ipynb); left=$$(( deadline - $$(date +%s) )); \
	  if [ $$left -le 0 ]; then failed="$$failed $$name(not-run)"; continue; fi; \
	  limit=$$(( left < $(BOOK_NB_S) ? left : $(BOOK_NB_S) )); start=$$(date +%s); \
	  env -u MINICOG_FAST timeout -k 30 $$limit $(PY) -m jupyter nbconvert --execute --to html \
	    --ExecutePreprocessor.timeout=$(BOOK_CELL_S) --output-dir $(BOOK) $$nb || failed="$$failed $$name"; \
	  echo "book: $$name took $$(( $$(date +%s) - start )) s"; \
	done; \
	{ echo '<!doctype html><meta charset="utf-8"><title>minicog</title><h1>minicog: the course</h1><ul>'; \
	  for f in $(BOOK)/[0-9][0-9]_*.html; do [ -e "$$f" ] || continue; n=$$(basename $$f .html); \
	    echo "<li><a href=\"$$n.html\">$$(sed -n '2s/^# # //p' notebooks/src/$$n.py)</a></li>"; done; \
	  echo '</ul>'; } > $(BOOK)/index.html; \
	echo "book: $(BOOK)/index.html"; \
	if [ -n "$$failed" ]; then echo "book: failed or timed out:$$failed"; exit 1; fi
