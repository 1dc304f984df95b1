# syntax=docker/dockerfile:1
# Stage 1: build the web UI.
FROM node:20-bookworm-slim AS ui
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# Stage 2: build wheels for the core and the bundled plugins.
FROM python:3.11-slim-bookworm AS wheels
WORKDIR /src
COPY . .
COPY --from=ui /src/pulse_core/web/static/dist pulse_core/web/static/dist
RUN pip wheel --no-cache-dir --wheel-dir /wheels . plugins/pve plugins/pbs plugins/storage_sqlite \
        plugins/notify_email plugins/notify_webhook plugins/notify_apprise

# Stage 3: the runtime image, as a non-root user.
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 1000 pulse \
    && useradd --system --uid 1000 --gid pulse --home-dir /data --shell /usr/sbin/nologin pulse \
    && mkdir /data && chown pulse:pulse /data
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# A numeric user lets Kubernetes' runAsNonRoot check the image without resolving names.
USER 1000:1000
ENV PULSE_DATA_DIR=/data PULSE_BIND=0.0.0.0 FRONTEND_PORT=7655 PULSE_DOCKER=true
VOLUME ["/data"]
EXPOSE 7655
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:7655/api/health', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["run"]
