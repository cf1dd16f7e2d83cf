# Gavel production image: compiled JavaScript and production dependencies only, run as a
# non-root user, on an external MongoDB replica set (MONGODB_URI). The embedded engines are for
# development and tests: they need Java or a mongod download and keep data inside the container.
#
#   docker build -t gavel .
#   docker run --env-file gavel.env -p 4000:4000 gavel    # MONGODB_URI=mongodb://db1,db2,db3/?replicaSet=rs0,
#                                                          # CURSOR_SECRET, SESSION_SECRET, PRIVACY_SECRET, ...
#   docker run --rm --env-file gavel.env gavel keys create --role ADMIN   # the first API key

# --- build: compile the server and bundle the browser assets with the full (dev) dependency set ---
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall fetches the embedded engine's jars, which this image never uses.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build-web.ts ./scripts/
COPY web ./web
RUN npm run build

# --- runtime: production dependencies and dist/ (server code, and the browser assets in dist/public) ---
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    GAVEL_MONGO_ENGINE=uri \
    GAVEL_SEED_DEMO=false \
    TRUST_PROXY=1 \
    SHUTDOWN_DRAIN_MS=0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's `node` user (uid 1000); nothing in /app is writable by it.
USER node
EXPOSE 4000
# Liveness only (the process serves HTTP); orchestrators should route by /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly (not npm start), so SIGTERM reaches Gavel and shutdown is graceful. The `gavel`
# command serves by default; `docker run … gavel keys create --role ADMIN` mints an API key.
ENTRYPOINT ["node", "dist/cli/gavel.js"]
CMD ["serve"]
