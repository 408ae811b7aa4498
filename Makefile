# Dagwright — the commands a developer and CI use. Scripts live in hack/.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/.cache/bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: deps venv tools cluster-up cluster-down test lint unit-test cluster-test crds api-docs demo bench bench-argo clean

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml requirements.lock
	hack/venv.sh $(VENV)
	touch $@

deps:             ## Debian packages the cluster and tests need (openssl, curl, python3-venv, chromium + chromium-driver), apt-get installed when missing
	hack/cluster/system-deps.sh

tools:            ## build kube-apiserver, etcd, kwok, helm... into .cache/bin (skipped when present)
	hack/build-tools.sh

cluster-up: deps tools ## start the local control plane (idempotent); kubeconfig in .cluster/kubeconfig
	hack/cluster-up.sh

cluster-down:     ## stop exactly what cluster-up started and remove its state
	hack/cluster-down.sh

crds: venv api-docs ## regenerate crds/*.yaml from the pydantic models (and the chart's copies, and docs/api.md)
	$(PY) -m dagwright.api.crdgen crds
	cp crds/*.yaml charts/dagwright/crds/

api-docs: venv    ## regenerate the field reference in docs/api.md from the pydantic models
	$(PY) -m dagwright.api.docgen docs/api.md

lint: venv        ## ruff + mypy --strict (also the first step of `make test`)
	hack/lint.sh

unit-test: venv   ## unit tests only (tests/unit): no cluster, none of the tools in .cache/bin
	$(PY) -m pytest -q tests/unit

cluster-test: deps venv tools ## cluster tests only (tests/ minus tests/unit), local control plane unless KUBECONFIG is given
	hack/test.sh --cluster-only

test: deps venv tools  ## unit + cluster tests (starts the local control plane unless KUBECONFIG is given)
	hack/test.sh

demo: deps venv tools  ## local cluster + real node + services + operator: the lakehouse moving real data, a good and a bad day
	hack/demo.sh

bench: venv tools ## benchmarks; figures in bench/results/latest.json
	$(PY) -m bench.run

bench-argo: venv tools ## Dagwright (Jobs, Pods) vs Argo Workflows on the local cluster; builds Argo from the Go module proxy (hack/build-argo.sh)
	$(PY) -m bench.sidebyside

clean: cluster-down
	rm -rf .cache/bin
