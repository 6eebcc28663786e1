# hookrelay: build the one-file bundle on the official Node LTS image, run it on the slim one.
#   docker build -t hookrelay .
#   docker run -p 8080:8080 -v $PWD/config.yaml:/etc/hookrelay/config.yaml:ro -v hookrelay-data:/data hookrelay
# test/packaging/dockerfile.test.ts runs these same steps (install, build, start, health check).

FROM node:20-bookworm AS build
WORKDIR /src
# The full image has python3, make and g++: better-sqlite3 compiles its addon here.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY build.mjs tsconfig.json ./
# build.mjs uses helpers from scripts/ (the dashboard's build).
COPY scripts ./scripts
COPY src ./src
COPY migrations ./migrations
RUN npm run build && mkdir -p /out/data

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Port the health check asks; set it too if the config moves server.port.
ENV HOOKRELAY_PORT=8080
# The bundle and its SQLite addon: all the relay needs (no node_modules).
COPY --from=build /src/dist/hookrelay.mjs /src/dist/better_sqlite3.node /app/
# The data directory belongs to the unprivileged user; a new volume mounted there inherits that.
COPY --from=build --chown=node:node /out/data /data
# Relative storage paths (the default ./data/hookrelay.db) land in the volume.
WORKDIR /data
VOLUME /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.HOOKRELAY_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1: the relay handles SIGTERM itself (drain within server.shutdown_grace, a second one exits at once).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/hookrelay.mjs"]
CMD ["serve", "--config", "/etc/hookrelay/config.yaml"]
