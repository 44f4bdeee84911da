# The confsvc controller. Build from the project root: docker build -f docker/confsvc.Dockerfile .
# Pinned base: Python 3.11 patch release on Debian bookworm; bump it deliberately.
FROM python:3.11.14-slim-bookworm
WORKDIR /opt/confsvc
COPY pyproject.toml README.md ./
COPY confsvc/ confsvc/
COPY asterisk/defaults.env asterisk/defaults.env
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /var/lib/confsvc-data --create-home confsvc
ENV CONFSVC_DB_PATH=/var/lib/confsvc-data/confsvc.sqlite3 \
    CONFSVC_DATA_DIR=/var/lib/confsvc-data/data
VOLUME /var/lib/confsvc-data
USER 10001
# Ready (not just alive): ARI connected and the store answering (GET /ready, 503 if not).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('CONFSVC_HTTP_PORT', '8080'), timeout=4)"]
CMD ["confsvc", "serve"]
