# The two commands of the README, `make demo` and `make test` (each sets up .venv first), and the Docker set-up:
#   make report                    the suite report (HTML) from whatever cubes have results
#   eval "$(make -s mlcube)"       the mlcube CLI with its pins in .venv-mlcube, put on PATH
#   make images                    the cube images from Docker Hub's python:3.11-slim and PyPI
#   make images-offline            the same without any registry: Debian base image + wheelhouse (as CI does)
# CUBES="vision_selection" limits the image targets to some cubes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CUBES ?=

.PHONY: demo test setup report mlcube images images-offline
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/dataperf demo

test: setup
	$(BIN)/python -m pytest

report: setup
	$(BIN)/dataperf report

mlcube:
	@bash .ci/mlcube_env.sh

images:
	bash .ci/images.sh $(CUBES)

images-offline:
	bash .ci/images.sh --offline $(CUBES)
