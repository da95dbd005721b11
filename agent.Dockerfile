# syntax=docker/dockerfile:1
# The agent sidecar image: Node 24 and one file, /app/agent.mjs (the esbuild bundle).
#   docker build -f agent.Dockerfile -t ghcr.io/leader-election/agent:dev .
# The webhook has its own image (webhook.Dockerfile): the manifests name two images and
# run each image's ENTRYPOINT with no `command:` override, and this one is pulled on every
# node that runs an elected pod, so it carries the agent and nothing else.
ARG NODE_VERSION=24.21.0

# Build stage: the bundle is plain JavaScript, so it is built once on the build machine's
# own platform, whatever platform the image is for.
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-alpine AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# No install scripts: the build needs none (esbuild runs from its platform package).
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --ignore-scripts
COPY scripts/bundle.mjs scripts/
COPY common/ common/
COPY agent/ agent/
# bundle.mjs skips entries whose sources are absent: only dist/agent.mjs is built here.
RUN node scripts/bundle.mjs && test -f dist/agent.mjs

# Run stage: Node and its shared libraries, no shell, no package manager, nothing written
# at run time (the pod's root filesystem is read-only). User 65532 is distroless' nonroot.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="leader-election-agent" \
      org.opencontainers.image.description="Leader election sidecar: holds the group's Lease and sets its pod's readiness gate" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/dist/agent.mjs /app/agent.mjs
USER 65532:65532
EXPOSE 4040
# Node's flags for a small, quiet process (make bench's memory phase, docs/benchmarks.md): a
# 1 MiB young generation, no optimizing compiler, no V8 worker threads. Private memory 17.1 MiB
# instead of 21.3 MiB for a leader, same idle CPU and failover. The same flags as the local
# images (local-cluster/node/images.ts AGENT_NODE_FLAGS; a test holds them equal).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--lite-mode", "--single-threaded", "--v8-pool-size=0", "/app/agent.mjs"]
