# One image per service: docker build --build-arg SERVICE=auth-service -f docker/service.Dockerfile .
# (here: scripts/images build, with buildah). The build stages install everything and compile it: the
# root postinstall generates the Prisma clients (bundled WebAssembly engines, no download) and runs
# tsc -b. The last stage gets only what the service runs: its dist, the workspaces it uses, their
# production packages.
ARG NODE_IMAGE=node:20.20-bookworm-slim

# The dependency install is cached apart from the sources: stage "manifests" keeps only what npm ci
# reads (every package.json, the lock, .npmrc; paths kept), and the layer cache keys COPY --from by
# the content copied, so stage "deps" reruns only when one of those changes, not on a source edit.
# Both stages are the same in the three Dockerfiles (one install serves every image).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune \
      -o \( -name package.json -o -name package-lock.json -o -name .npmrc \) -print \
    | xargs cp --parents -t /manifests

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY --from=manifests /manifests/ ./
# NPM_CONFIG_CAFILE: optional, for builds behind a TLS-intercepting proxy (mount the bundle, pass its path).
ARG NPM_CONFIG_CAFILE
# No scripts here: the root postinstall needs the sources (it runs below), and no dependency's own
# install script is needed (bcrypt loads its prebuilt binary; npm 11 no longer runs them at all).
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund --ignore-scripts

FROM deps AS build
COPY . .
RUN node scripts/postinstall.js
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
