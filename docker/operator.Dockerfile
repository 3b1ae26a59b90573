# The operator image: webrana-operator (watches WebranaDatabase resources).
# The build stages install and compile everything (see service.Dockerfile); the last stage gets the
# operator's dist, the workspaces it uses and their production packages.
ARG NODE_IMAGE=node:20.20-bookworm-slim

# Stages manifests, deps and build as in service.Dockerfile (kept identical: one cached install serves
# every image).
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
ARG NPM_CONFIG_CAFILE
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund --ignore-scripts

FROM deps AS build
COPY . .
RUN node scripts/postinstall.js
RUN node docker/runtime-tree.js /runtime operator

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /runtime/ ./
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["webrana-operator"]
