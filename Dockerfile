# The worker and the API of the retry service (one image; docker-compose.yml picks the command).
#   docker build -t retry-service .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 retry-service              # worker (npm run worker)
#   docker run --rm -p 8080:8080 -e TEMPORAL_ADDRESS=host:7233 retry-service npm run api
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Dependencies first, so code changes reuse this layer. tsx (a runtime dependency) runs the TypeScript as it is.
# Only what the service runs: no devDependencies (tests, lint) and not the bench workspace (bullmq, ioredis).
COPY package.json package-lock.json ./
COPY bench/package.json bench/
RUN npm ci --omit=dev --workspaces=false && npm cache clean --force

COPY . .

USER node
# API port and the worker's Prometheus port.
EXPOSE 8080 9464
CMD ["npm", "run", "worker"]
