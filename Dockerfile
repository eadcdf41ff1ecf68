# docker-enforcer container image.
#   docker build -t docker-enforcer .
#   docker run -d --name docker_enforcer -p 8888:8888 --privileged \
#     -v /rules_dir:/opt/docker-enforcer/rules -v /var/run:/var/run docker-enforcer
# The base image is a build argument: any image with Node.js >= 20.19 and npm (and a shell for RUN).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY rules ./rules
COPY request_rules ./request_rules
COPY triggers ./triggers
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="docker-enforcer" \
      org.opencontainers.image.description="Checks Docker containers and API calls against admin-written TypeScript rules; warns or stops." \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
WORKDIR /opt/docker-enforcer
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Defaults; mount your own folders over these (-v /rules_dir:/opt/docker-enforcer/rules).
COPY rules ./rules
COPY request_rules ./request_rules
COPY triggers ./triggers
COPY README.md ./
ENV HTTP_PORT=8888
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8888) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["run"]
