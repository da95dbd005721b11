#!/usr/bin/env bash
# Builds Prometheus's promtool from its Go module, once per version, into the cache (like the
# Kubernetes binaries): make test checks the agent's and the webhook's /metrics with
# `promtool check metrics` and the alerts with `promtool check rules` / `promtool test rules`.
# Prints the binary's path on stdout.
set -euo pipefail
# shellcheck source=local-cluster/go-tool.sh
source "$(dirname "$0")/../go-tool.sh"
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
go_tool promtool "$PROMETHEUS_VERSION" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
