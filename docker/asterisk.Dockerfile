# Asterisk 22 for confsvc: the same package list and post-install step as the rootfs that
# `asterisk/ctl build` makes (asterisk/packages.txt + asterisk/rootfs-setup.sh), so the two
# cannot drift. Build from the project root: docker build -f docker/asterisk.Dockerfile .
FROM debian:sid
COPY asterisk/packages.txt asterisk/rootfs-setup.sh /tmp/confsvc/
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && grep -v '^[[:space:]]*#' /tmp/confsvc/packages.txt \
    | xargs env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
 && sh /tmp/confsvc/rootfs-setup.sh \
 && rm -rf /var/lib/apt/lists/*
COPY asterisk/ /opt/confsvc/asterisk/
# asterisk is on this image's PATH, so ctl uses it directly (no rootfs).
ENV CONFSVC_ASTERISK_MODE=host \
    CONFSVC_RUNTIME_DIR=/var/lib/confsvc
VOLUME /var/lib/confsvc
CMD ["/opt/confsvc/asterisk/ctl", "foreground"]
