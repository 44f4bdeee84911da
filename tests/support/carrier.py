"""A test carrier: a second Asterisk (tests/support/carrier_conf, rendered through
CONFSVC_CONF_DIR like bench/'s load generator) that takes the dial-out calls the system
under test sends through its [trunk] endpoint, on loopback.

Ports from the test port base: SIP base+160 (test_env points the SUT's CONFSVC_TRUNK_PORT
here), ARI base+188, RTP base+5000..5499 (Asterisk's own RTP is base+1000..1999 and the
phones' base+3000..4999). Started and stopped through asterisk/ctl, by pid."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from tests.support.runtime import Runtime

CONF_DIR = Path(__file__).resolve().parent / "carrier_conf"

# The carrier's numbers (carrier_conf/extensions.conf).
ANSWER_440 = "+15550100440"
ANSWER_700 = "+15550100700"
BUSY = "+15550100486"
RING_FOREVER = "+15550100180"
CONGESTION = "+15550100503"
OUT_OF_ORDER = "+15550100038"


def carrier_env(port_base: int | None = None) -> dict[str, str]:
    base = port_base or int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    env.update(
        CONFSVC_INSTANCE=f"carrier{base}",
        CONFSVC_SIP_PORT=str(base + 160),
        CONFSVC_ARI_PORT=str(base + 188),
        CONFSVC_RTP_START=str(base + 5000),
        CONFSVC_RTP_END=str(base + 5499),
        CONFSVC_ARI_USER="carrier",
        CONFSVC_ARI_PASSWORD=secrets.token_urlsafe(18),
        CONFSVC_PHONE_PASSWORD="unused",  # the carrier has no phone accounts
        CONFSVC_ARI_APP="carrier",
        CONFSVC_CONF_DIR=str(CONF_DIR),
    )
    for k in ("CONFSVC_ASTERISK_MODE", "CONFSVC_RUNTIME_DIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


class Carrier(Runtime):
    """The carrier instance; `calls_processed` counts the INVITEs it has taken."""

    @property
    def recordings(self) -> Path:
        return self.instance_dir / "spool" / "recording"

    def start(self) -> None:
        super().start()
        for old in self.recordings.glob("*.wav"):  # a previous run's
            old.unlink()

    def calls_processed(self) -> int:
        out = self.cli("core show channels count")
        found = re.search(r"(\d+) calls? processed", out)
        if found is None:
            raise AssertionError(f"unexpected 'core show channels count' output: {out!r}")
        return int(found.group(1))

    def active_calls(self) -> int:
        found = re.search(r"(\d+) active calls?", self.cli("core show channels count"))
        return int(found.group(1)) if found else 0

    def heard(self, number: str, caller_id: str) -> Path:
        """What the callee of `number` received (the room's mix), recorded by MixMonitor."""
        digits = re.sub(r"\D", "", caller_id)
        return self.recordings / f"heard-{number.lstrip('+')}-from-{digits}.wav"
