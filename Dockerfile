# syntax=docker/dockerfile:1
# Build stage: compiles TypeScript and the better-sqlite3 native addon, then drops dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ormconfig.ts ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: production dependencies and the compiled service only, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    DATABASE_URL=sqlite:/app/data/teddy.sqlite \
    LOG_FILE=/app/logs/teddy_system.log
WORKDIR /app
# A fixed uid, so that Kubernetes can check runAsNonRoot (deploy/kubernetes sets runAsUser: 10001).
RUN groupadd --system --gid 10001 teddy \
 && useradd --system --uid 10001 --gid teddy --home-dir /app --shell /usr/sbin/nologin teddy \
 && mkdir -p /app/data /app/logs \
 && chown teddy:teddy /app/data /app/logs
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER teddy
EXPOSE 3000
VOLUME ["/app/data", "/app/logs"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# Node handles SIGTERM itself (graceful shutdown); no shell in between.
CMD ["node", "dist/src/main.js"]
