# Lifeline's API image, built once and run by every api service in docker-compose.yml (and by
# its one-shot `migrate` service). Three stages so the runtime image holds no compiler, no
# devDependencies and no sources: only the compiled server, its production node_modules, and the
# files it reads at run time (schema/ for the SDL, drizzle/ for migrations, dist/public for the
# dashboard; see src/graphql/schema.ts, src/db/migrate.ts, src/http/static.ts).

# ---- build: every dependency, then `npm run build` (tsc → dist/src, esbuild → dist/public/dashboard
# and dist/public/graphiql; the runtime serves /graphiql only outside production)
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the npm ci layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --include=dev --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY schema ./schema
COPY drizzle ./drizzle
COPY src ./src
COPY dashboard ./dashboard
COPY graphiql ./graphiql
COPY tools ./tools
RUN npm run build

# ---- deps: production dependencies only, installed from the same lock file
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schema ./schema
COPY drizzle ./drizzle
# PGlite's default data directory (.data/pglite), used only when DATABASE_URL is unset; writable by
# the unprivileged user the server runs as.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
# Exec form: node is PID 1 and receives SIGTERM itself (src/main.ts drains HTTP and WebSockets,
# bounded by 10 s). `node dist/src/db/migrate-cli.js` applies migrations (the compose `migrate` service).
CMD ["node", "dist/src/main.js"]
