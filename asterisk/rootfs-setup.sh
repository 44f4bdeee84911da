#!/bin/sh
# Runs inside the runtime (mmdebstrap customize hook, and the Dockerfile) after the
# packages are installed: the one place for post-install steps, so both stay equal.
set -eu
# Asterisk will not start without its run dir (seen on Debian sid 22.10).
mkdir -p /run/asterisk /var/run/asterisk /srv/confsvc
# The stock configs are not used (asterisk/ctl renders the project's own per instance);
# keep them out of the way so nothing loads them by accident.
if [ -d /etc/asterisk ] && [ ! -e /etc/asterisk/.confsvc-unused ]; then
    touch /etc/asterisk/.confsvc-unused
fi
