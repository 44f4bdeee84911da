# Kamailio, the SIP entry in front of several Asterisk media nodes (README "Running several
# media nodes"): Debian bookworm's kamailio 5.6 with http_client, configured by the same
# scripts/kamailio and kamailio/kamailio.cfg that `make run-cluster` uses.
# Build from the project root: docker build -f docker/kamailio.Dockerfile .
FROM debian:bookworm-20251117-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    kamailio kamailio-utils-modules \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/confsvc
COPY scripts/kamailio scripts/kamailio
COPY kamailio/ kamailio/
ENV CONFSVC_RUNTIME_DIR=/var/lib/confsvc
CMD ["/opt/confsvc/scripts/kamailio", "foreground"]
