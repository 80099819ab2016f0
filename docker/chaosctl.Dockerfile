# syntax=docker/dockerfile:1
# chaosctl, to run as a Job inside the cluster with the chart's `chaosctl` ServiceAccount:
#   docker build -f docker/chaosctl.Dockerfile -t chaos-platform/chaosctl:<sha> .
# Same stages as service.Dockerfile: build everything chaosctl needs, install its production
# dependencies only, run as the unprivileged `node` user.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests/ \; \
 && npm ci --no-audit --no-fund \
 && npx turbo run build --filter=@chaos-platform/chaosctl

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package-lock.json ./
COPY --from=build /manifests/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace @chaos-platform/chaosctl --include-workspace-root=false

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY package.json ./
COPY cli/package.json ./cli/
COPY --from=build /src/cli/dist ./cli/dist
COPY cli/suites ./cli/suites
USER node
ENTRYPOINT ["node", "cli/dist/cli.js"]
CMD ["run-all", "--driver", "kubernetes", "--report-dir", "/tmp/reports"]
