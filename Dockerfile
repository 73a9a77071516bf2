# The platform image: one image for every role (rpm start [--role …], rpm migrate, rpm mosquitto-files).
# Stage 1 builds (TypeScript, and better-sqlite3's native module against this Node), stage 2 runs
# as a non-root user with only production dependencies. Node.js 24 LTS (supported to April 2028);
# the platform is tested on 24 and on 20 (.ci/run).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm install, not npm ci: the lock file leaves out other platforms' optional binaries (.ci/run says why).
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RPM_DATA_DIR=/var/lib/rpm \
    RPM_HTTP_PORT=8080 \
    RPM_MQTT_PORT=1883
RUN groupadd --system --gid 10001 rpm \
 && useradd --system --uid 10001 --gid rpm --home-dir /var/lib/rpm --shell /usr/sbin/nologin rpm \
 && mkdir -p /var/lib/rpm \
 && chown rpm:rpm /var/lib/rpm
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
USER rpm
VOLUME ["/var/lib/rpm"]
EXPOSE 8080 1883
# /readyz: the stores answer and ingest is connected; Node's fetch needs no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RPM_HTTP_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--initial-old-space-size=128", "dist/bin/rpm.js"]
CMD ["start"]
