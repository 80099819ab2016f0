# syntax=docker/dockerfile:1
# One Dockerfile for the three services, from the monorepo root:
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=order-service -t chaos-platform/order-service:<sha> .
# build:   the whole workspace installed, then the service and what it depends on (service-kit) compiled.
# deps:    production dependencies of that service only: no TypeScript, jest, turbo or chaosctl.
# runtime: node:24-slim with dist, package.json files and those node_modules, as the unprivileged
#          `node` user (uid 1000, what the chart's securityContext expects). No HEALTHCHECK:
#          Kubernetes probes /healthz and /readyz. Configured only through the environment.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE=order-service
WORKDIR /src
COPY . .
# Every workspace's package.json, paths kept: all the deps stage needs besides the lockfile.
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \; \
 && npm ci --no-audit --no-fund \
 && npx turbo run build --filter="@chaos-platform/${SERVICE}..."

FROM ${NODE_IMAGE} AS deps
ARG SERVICE=order-service
WORKDIR /src
# npm ci checks the lockfile against every workspace's package.json: bring them all, nothing else.
COPY package-lock.json ./
COPY --from=build /manifests/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace "@chaos-platform/${SERVICE}" --include-workspace-root=false

FROM ${NODE_IMAGE}
ARG SERVICE=order-service
# DATA_DIR only matters for the SQLite fallback (no DATABASE_URL): /tmp stays writable with a
# read-only root filesystem.
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/tmp/data SERVICE=${SERVICE}
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY package.json ./
COPY packages/service-kit/package.json ./packages/service-kit/
COPY --from=build /src/packages/service-kit/dist ./packages/service-kit/dist
COPY apps/${SERVICE}/package.json ./apps/${SERVICE}/
COPY --from=build /src/apps/${SERVICE}/dist ./apps/${SERVICE}/dist
USER node
# exec: node replaces the shell as PID 1, so SIGTERM reaches it and the graceful shutdown runs.
CMD ["sh", "-c", "exec node apps/${SERVICE}/dist/main.js"]
