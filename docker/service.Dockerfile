# One image per service: docker build --build-arg SERVICE=auth-service -f docker/service.Dockerfile .
# Stage 1 compiles everything (Prisma clients are generated here by the root postinstall; the
# bundled WebAssembly engines need no download); stage 2 keeps production dependencies and output.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG SERVICE
ENV NODE_ENV=production \
    WEBRANA_SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/services ./services
# Non-root, and nothing here needs to write (the chart mounts the root filesystem read-only).
USER 10001:10001
EXPOSE 8080
CMD ["node", "services/run.js"]
