# The jobs image: webrana-jobs (migrate, seed, backup, restore) with the PostgreSQL 15 client tools
# and zstd (full dumps are zstd-compressed tars; tar is in the base).
# Stage 1 installs and compiles everything (see service.Dockerfile); stage 2 gets webrana-jobs, every
# service's compiled seed and Prisma client, schemas and migrations, and their production packages.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
COPY . .
ARG NPM_CONFIG_CAFILE
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
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
