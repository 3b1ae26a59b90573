# The jobs image: webrana-jobs (migrate, seed, backup, restore) with the PostgreSQL 15 client tools
# and zstd (full dumps are zstd-compressed tars; tar is in the base).
# The build stages install and compile everything (see service.Dockerfile); the last stage gets
# webrana-jobs, every service's compiled seed and Prisma client, schemas and migrations, and their
# production packages.
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
RUN node docker/runtime-tree.js /runtime jobs services/*-service

FROM ${NODE_IMAGE}
# pg_dump / pg_restore / psql must match the server major (15); Debian bookworm ships 15.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 zstd \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /runtime/ ./
USER 10001:10001
ENTRYPOINT ["webrana-jobs"]
CMD ["--help"]
