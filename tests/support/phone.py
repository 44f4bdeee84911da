"""A real SIP softphone for tests: baresip, headless, driven over its ctrl_tcp module.

Its microphone is a tone WAV (aufile source) and what it hears is written to heard.wav
(aufile player), so tests can prove by FFT who hears whom.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

from tests.support.audio import write_tone
from tests.support.runtime import Runtime

CONFIG = """\
poll_method		epoll
sip_listen		127.0.0.1:0
sip_trans_def		udp
net_interface		127.0.0.1
audio_player		aufile,{inside}/heard.wav
audio_source		aufile,{inside}/tone.wav
audio_alert		aufile,/dev/null
audio_srate		8000
audio_channels		1
rtp_ports		{rtp_lo}-{rtp_hi}
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:{ctrl_port}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Phone:
    """One baresip process with one account (alice, bob, ... from asterisk/conf/pjsip.conf)."""

    def __init__(
        self,
        runtime: Runtime,
        account: str,
        tone_hz: float,
        *,
        tag: str = "",
        password: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.password = password
        self.account = account
        self.tone_hz = tone_hz
        self.name = f"{account}{tag}"
        self.dir = runtime.instance_dir / "phones" / self.name
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._cond = asyncio.Condition()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._token = 0
        self._responses: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def heard(self) -> Path:
        return self.dir / "heard.wav"

    @property
    def log(self) -> Path:
        return self.dir / "baresip.log"

    async def start(self, tone_seconds: float = 60) -> None:
        if self.dir.exists():
            for f in self.dir.iterdir():
                f.unlink()
        self.dir.mkdir(parents=True, exist_ok=True)
        write_tone(self.dir / "tone.wav", self.tone_hz, tone_seconds)
        ctrl_port = free_port()
        # Phones' RTP sits above Asterisk's range; baresip picks a free port inside it.
        rtp_lo = int(self.runtime.s("RTP_END")) + 1001
        inside = self.runtime.inside(self.dir)
        (self.dir / "config").write_text(
            CONFIG.format(inside=inside, ctrl_port=ctrl_port, rtp_lo=rtp_lo, rtp_hi=rtp_lo + 1999)
        )
        pw = self.password or self.runtime.s("PHONE_PASSWORD")
        sip = f"127.0.0.1:{self.runtime.s('SIP_PORT')}"
        (self.dir / "accounts").write_text(
            f"<sip:{self.account}@{sip}>;auth_pass={pw};regint=0;audio_codecs=PCMU\n"
        )
        logf = self.log.open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            *self.runtime.command("baresip", "-f", inside),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            start_new_session=True,
        )
        logf.close()
        for _ in range(100):
            try:
                self._reader, self._writer = await asyncio.open_connection("127.0.0.1", ctrl_port)
                break
            except OSError:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"baresip exited: {self.log.read_text()}") from None
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"baresip ctrl_tcp did not open: {self.log.read_text()}")
        self._task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        assert self._reader
        while True:
            head = await self._reader.readuntil(b":")
            body = await self._reader.readexactly(int(head[:-1]) + 1)
            msg = json.loads(body[:-1])
            if msg.get("response") and msg.get("token") in self._responses:
                self._responses.pop(msg["token"]).set_result(msg)
            elif msg.get("event"):
                async with self._cond:
                    self.events.append(msg)
                    self._cond.notify_all()

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        assert self._writer
        self._token += 1
        token = str(self._token)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[token] = fut
        data = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._writer.write(b"%d:%s," % (len(data), data))
        await self._writer.drain()
        return await asyncio.wait_for(fut, 5)

    async def dial(self, target: str) -> None:
        """Dial a room or extension on the instance's Asterisk (or a full sip: URI)."""
        uri = (
            target
            if target.startswith("sip:")
            else (f"sip:{target}@127.0.0.1:{self.runtime.s('SIP_PORT')}")
        )
        await self.command("dial", uri)

    async def hangup(self) -> None:
        await self.command("hangup")

    async def send_dtmf(self, digits: str) -> None:
        for d in digits:
            await self.command("sndcode", d)
            await asyncio.sleep(0.25)

    async def wait_event(self, *types: str, timeout: float = 10) -> dict[str, Any]:
        """The first event (seen so far or arriving) whose type is one of types."""

        def find() -> dict[str, Any] | None:
            return next((e for e in self.events if e.get("type") in types), None)

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(find), timeout)
            found = find()
            assert found is not None
            return found

    def has_event(self, *types: str) -> bool:
        return any(e.get("type") in types for e in self.events)

    async def stop(self) -> None:
        """Quit baresip (hanging up), then make sure the process is gone."""
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.command("quit"), 2)
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._writer:
            self._writer.close()
        self.proc = None
