# The operator image: webrana-operator (watches WebranaDatabase resources).
# Stage 1 installs and compiles everything (see service.Dockerfile); stage 2 gets the operator's dist,
# the workspaces it uses and their production packages.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY . .
ARG NPM_CONFIG_CAFILE
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
RUN node docker/runtime-tree.js /runtime operator

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /runtime/ ./
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["webrana-operator"]
