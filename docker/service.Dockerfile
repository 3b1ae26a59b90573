# One image per service: docker build --build-arg SERVICE=auth-service -f docker/service.Dockerfile .
# (here: scripts/images build, with buildah). Stage 1 installs everything and compiles it: the root
# postinstall generates the Prisma clients (bundled WebAssembly engines, no download) and runs tsc -b.
# Stage 2 gets only what the service runs: its dist, the workspaces it uses, their production packages.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY . .
# NPM_CONFIG_CAFILE: optional, for builds behind a TLS-intercepting proxy (mount the bundle, pass its path).
ARG NPM_CONFIG_CAFILE
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "--build-arg SERVICE=<name>-service is required" >&2; exit 1; }; \
    node docker/runtime-tree.js /runtime services/run.js "services/${SERVICE}"

FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production \
    WEBRANA_SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /runtime/ ./
# Non-root, and nothing here needs to write (the chart mounts the root filesystem read-only).
USER 10001:10001
EXPOSE 8080
CMD ["node", "services/run.js"]
