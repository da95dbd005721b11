# syntax=docker/dockerfile:1
# The webhook image: Node 24 and one file, /app/webhook.mjs (the esbuild bundle).
#   docker build -f webhook.Dockerfile -t ghcr.io/leader-election/webhook:dev .
# Flags come from the Deployment's args (manifests/base/webhook.yaml); see docs/reference.md.
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
COPY webhook/ webhook/
# bundle.mjs skips entries whose sources are absent: only dist/webhook.mjs is built here.
RUN node scripts/bundle.mjs && test -f dist/webhook.mjs

# Run stage: Node and its shared libraries, no shell, no package manager, nothing written
# at run time (the pod's root filesystem is read-only). User 65532 is distroless' nonroot.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="leader-election-webhook" \
      org.opencontainers.image.description="Mutating admission webhook that injects the leader-election agent" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/dist/webhook.mjs /app/webhook.mjs
USER 65532:65532
# 8443: HTTPS admission; 8081: plain-HTTP /healthz, /readyz, /metrics.
EXPOSE 8443 8081
ENTRYPOINT ["/nodejs/bin/node", "/app/webhook.mjs"]
