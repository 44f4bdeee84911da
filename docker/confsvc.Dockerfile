# The confsvc controller. Build from the project root: docker build -f docker/confsvc.Dockerfile .
FROM python:3.11-slim
WORKDIR /opt/confsvc
COPY pyproject.toml README.md ./
COPY confsvc/ confsvc/
COPY asterisk/defaults.env asterisk/defaults.env
RUN pip install --no-cache-dir .
ENV CONFSVC_DB_PATH=/var/lib/confsvc-data/confsvc.sqlite3 \
    CONFSVC_DATA_DIR=/var/lib/confsvc-data/data
VOLUME /var/lib/confsvc-data
CMD ["confsvc", "serve"]
