# One image per service, from the monorepo root:
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=order-service -t chaos-platform/order-service:<sha> .
# Multi-stage: TypeScript is compiled in `build`; the runtime holds production dependencies and
# compiled JavaScript only, runs as the unprivileged `node` user (uid 1000, as the chart expects)
# and has no HEALTHCHECK: Kubernetes probes /healthz and /readyz.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE=order-service
WORKDIR /src
COPY . .
# The service and the workspaces it depends on (service-kit).
RUN npm ci --no-audit --no-fund && npx turbo run build --filter="@chaos-platform/${SERVICE}..."

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ARG SERVICE=order-service
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/packages/service-kit/package.json ./packages/service-kit/
COPY --from=build /src/packages/service-kit/dist ./packages/service-kit/dist
COPY --from=build /src/apps/${SERVICE}/package.json ./apps/${SERVICE}/
COPY --from=build /src/apps/${SERVICE}/dist ./apps/${SERVICE}/dist
USER node
ENV SERVICE=${SERVICE}
CMD ["sh", "-c", "exec node apps/${SERVICE}/dist/main.js"]
