# Asterisk 22 for confsvc: the same package list and post-install step as the rootfs that
# `asterisk/ctl build` makes (asterisk/packages.txt + asterisk/rootfs-setup.sh), so the two
# cannot drift. Build from the project root: docker build -f docker/asterisk.Dockerfile .
# The base is pinned by its snapshot date (a debuerreotype dated tag); bump it deliberately.
# The packages come from the sid mirror at build time, as for the rootfs (asterisk/ctl).
FROM debian:sid-20251117
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY asterisk/packages.txt asterisk/rootfs-setup.sh /tmp/confsvc/
# The list lives in packages.txt (one place for the rootfs and this image): not pinned here.
# hadolint ignore=DL3008
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && grep -v '^[[:space:]]*#' /tmp/confsvc/packages.txt \
    | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
 && sh /tmp/confsvc/rootfs-setup.sh \
 && rm -rf /var/lib/apt/lists/*
COPY asterisk/ /opt/confsvc/asterisk/
# asterisk is on this image's PATH, so ctl uses it directly (no rootfs). It runs as root:
# ctl prepares the instance directories and the generated secrets (0600) before Asterisk
# starts; nothing in this image listens on a privileged port.
ENV CONFSVC_ASTERISK_MODE=host \
    CONFSVC_RUNTIME_DIR=/var/lib/confsvc
VOLUME /var/lib/confsvc
# Healthy while Asterisk runs and its ARI answers (what the controller needs).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/opt/confsvc/asterisk/ctl", "status"]
CMD ["/opt/confsvc/asterisk/ctl", "foreground"]
