# Minimal image: build the bundle, run it as a non-root user. Hardened in the operations issue.
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /src/dist/hookrelay.mjs /src/dist/better_sqlite3.node /app/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["node", "/app/hookrelay.mjs"]
CMD ["serve", "--config", "/etc/hookrelay/config.yaml"]
