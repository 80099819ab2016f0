# chaosctl, to run as a Job inside the cluster with the chart's `chaosctl` ServiceAccount:
#   docker build -f docker/chaosctl.Dockerfile -t chaos-platform/chaosctl:<sha> .
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@chaos-platform/chaosctl

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY . .
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/cli/package.json ./cli/
COPY --from=build /src/cli/dist ./cli/dist
COPY --from=build /src/cli/suites ./cli/suites
USER node
ENTRYPOINT ["node", "cli/dist/cli.js"]
CMD ["run-all", "--driver", "kubernetes", "--report-dir", "/tmp/reports"]
