"""An in-memory stand-in for AriClient (the methods the engine calls), plus `api_harness`:
the real Engine and the real SqliteStore behind the real HTTP app on 127.0.0.1.

FakeAri records every call. With `auto_leave` (default on) a hangup of a channel the engine
tracks plays back what Asterisk would send (ChannelLeftBridge, then StasisEnd) through
`engine.handle_event`, so a kick ends in `leaved` after `engine.settle()`. Turn it off
to keep a kicked call in `leaving`.

Recordings: record_bridge makes a live recording; stopping it (or `end_recording`, what
Asterisk does at its max_duration or when the bridge goes) stores `recording_audio` (a 1 s
8 kHz WAV) under its name and, with `auto_finish`, plays back RecordingFinished (unless
`notify_recordings` is off: the event is lost, as for an unsubscribed bridge).
`fail_record` / `fail_stop_recording` make Asterisk unreachable for those calls,
`recordings_unreachable` for every /recordings call."""

from __future__ import annotations

import array
import io
import itertools
import math
import wave
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from aiohttp.test_utils import TestClient, TestServer

from confsvc.api import create_app
from confsvc.ari import (
    AriBadRequest,
    AriConflict,
    AriNotFound,
    AriUnavailable,
    Bridge,
    Channel,
    ChannelEnteredBridge,
    ChannelLeftBridge,
    LiveRecording,
    Playback,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
    StoredRecording,
)
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events import wiring as events_wiring
from confsvc.store.factory import make_store
from confsvc.store.sqlite import SqliteStore
from tests.support.outbound import offline_policy

TOKENS = {"tok-a": "cust-a", "tok-b": "cust-b"}
DIAL_HOST = "sip.test:5060"


@dataclass
class FakeAri:
    engine: Engine | None = None
    auto_leave: bool = True
    fail_create_bridge: bool = False
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    # recordings (see the recordings section below)
    auto_finish: bool = True
    fail_record: bool = False
    fail_stop_recording: bool = False
    notify_recordings: bool = True
    recordings_unreachable: bool = False
    subscriptions: list[str] = field(default_factory=list)
    event_filter: tuple[str, ...] = ()
    live_recordings: dict[str, LiveRecording] = field(default_factory=dict)
    stored_recordings: dict[str, bytes] = field(default_factory=dict)
    recording_audio: bytes = field(default_factory=lambda: tone_wav(1.0))
    # Plays on a channel end at once with PlaybackFinished (`failed` for a media URI with
    # "unreachable" in it), as pre/post actions wait for them (engine/actions.py).
    finish_plays: bool = False

    def _record(self, method: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]

    # --- bridges -----------------------------------------------------------------------

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing", name: str | None = None
    ) -> Bridge:
        self._record("create_bridge", bridge_id, type=type, name=name)
        if self.fail_create_bridge:
            raise AriUnavailable(0, "POST", f"/bridges/{bridge_id}", "connection refused")
        bridge = Bridge(id=bridge_id, bridge_type=type, name=name or "")
        self.bridges[bridge_id] = bridge
        return bridge

    async def destroy_bridge(self, bridge_id: str) -> None:
        self._record("destroy_bridge", bridge_id)
        if self.bridges.pop(bridge_id, None) is None:
            raise AriNotFound(404, "DELETE", f"/bridges/{bridge_id}", "Bridge not found")

    async def list_bridges(self) -> list[Bridge]:
        self._record("list_bridges")
        return list(self.bridges.values())

    async def add_channel(
        self, bridge_id: str, channel_id: str | Sequence[str], **kwargs: Any
    ) -> None:
        self._record("add_channel", bridge_id, channel_id, **kwargs)
        bridge = self.bridges.get(bridge_id)
        if bridge is not None and isinstance(channel_id, str):
            bridge.channels.append(channel_id)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        self._record("remove_channel", bridge_id, channel_id)
        bridge = self.bridges.get(bridge_id)
        channel = self.channels.get(channel_id)
        if bridge is None or channel is None or channel_id not in bridge.channels:
            raise AriNotFound(404, "POST", f"/bridges/{bridge_id}/removeChannel", "not found")
        bridge.channels.remove(channel_id)
        if self.auto_leave and self.engine is not None:
            await self.engine.handle_event(
                ChannelLeftBridge(type="ChannelLeftBridge", bridge=bridge, channel=channel)
            )

    # --- channels ----------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        self._record("list_channels")
        return list(self.channels.values())

    async def get_channel(self, channel_id: str) -> Channel:
        self._record("get_channel", channel_id)
        try:
            return self.channels[channel_id]
        except KeyError:
            raise AriNotFound(404, "GET", f"/channels/{channel_id}", "not found") from None

    async def answer(self, channel_id: str) -> None:
        self._record("answer", channel_id)

    async def play_on_channel(
        self,
        channel_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        self._record("play_on_channel", channel_id, media, playback_id=playback_id)
        self._need_channel(channel_id, "play")
        playback = Playback(id=playback_id or "pb", media_uri=str(media), state="queued")
        if self.finish_plays and self.engine is not None:
            state = "failed" if "unreachable" in str(media) else "done"
            ended = msgspec.structs.replace(playback, state=state)
            await self.engine.handle_event(
                PlaybackFinished(type="PlaybackFinished", playback=ended)
            )
        return playback

    # --- participant control (issue 5): mute/deaf, DTMF, talk detection, bridge sounds --
    # `fail_member_ops`: Asterisk unreachable for these calls. A channel the fake does
    # not have (hung up) answers 404 like Asterisk.

    fail_member_ops: bool = False

    def _need_channel(self, channel_id: str, what: str) -> None:
        if self.fail_member_ops:
            raise AriUnavailable(0, "POST", f"/channels/{channel_id}/{what}", "refused")
        if channel_id not in self.channels:
            raise AriNotFound(404, "POST", f"/channels/{channel_id}/{what}", "Channel not found")

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        self._record("mute", channel_id, direction)
        self._need_channel(channel_id, "mute")

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        self._record("unmute", channel_id, direction)
        self._need_channel(channel_id, "mute")

    async def send_dtmf(self, channel_id: str, dtmf: str) -> None:
        self._record("send_dtmf", channel_id, dtmf)
        self._need_channel(channel_id, "dtmf")

    async def set_channel_var(self, channel_id: str, variable: str, value: str | None) -> None:
        self._record("set_channel_var", channel_id, variable, value)

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        self._record("play_on_bridge", bridge_id, media, playback_id=playback_id)
        return Playback(id=playback_id or "pb", media_uri=str(media), state="queued")

    async def stop_playback(self, playback_id: str) -> None:
        self._record("stop_playback", playback_id)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        self._record("start_bridge_moh", bridge_id, moh_class)

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        self._record("stop_bridge_moh", bridge_id)

    async def hangup(
        self, channel_id: str, reason: str | None = "normal", *, reason_code: str | None = None
    ) -> None:
        self._record("hangup", channel_id, reason=reason)
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            raise AriNotFound(404, "DELETE", f"/channels/{channel_id}", "Channel not found")
        in_bridge = [b for b in self.bridges.values() if channel_id in b.channels]
        for bridge in in_bridge:
            bridge.channels.remove(channel_id)
        if self.auto_leave and self.engine is not None:
            # What Asterisk sends next; the router only queues lane work, so calling it
            # from inside a lane (a kick's eject) cannot deadlock.
            for bridge in in_bridge:
                await self.engine.handle_event(
                    ChannelLeftBridge(type="ChannelLeftBridge", bridge=bridge, channel=channel)
                )
            await self.engine.handle_event(StasisEnd(type="StasisEnd", channel=channel))

    # --- transcription legs (confsvc/transcribe/legs.py) -------------------------------

    async def snoop(
        self, channel_id: str, snoop_id: str, *, spy: str = "in", app: str | None = None
    ) -> Channel:
        self._record("snoop", channel_id, snoop_id, spy=spy)
        self._need_channel(channel_id, "snoop")
        channel = Channel(id=snoop_id, name=f"Snoop/{channel_id}")
        self.channels[snoop_id] = channel
        return channel

    async def external_media(
        self, channel_id: str, external_host: str, *, format: str = "slin16", app: str | None = None
    ) -> Channel:
        self._record("external_media", channel_id, external_host, format=format)
        channel = Channel(id=channel_id, name=f"UnicastRTP/{external_host}")
        self.channels[channel_id] = channel
        return channel

    # --- recordings ----------------------------------------------------------------------
    # Live recordings by name; stopping one stores `recording_audio` under its name and
    # (with auto_leave's sibling `auto_finish`) plays back RecordingFinished.

    async def record_bridge(
        self,
        bridge_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_seconds: int = 0,
        max_silence_seconds: int = 0,
        if_exists: str = "fail",
        beep: bool = False,
        terminate_on: str = "none",
    ) -> LiveRecording:
        self._record(
            "record_bridge",
            bridge_id,
            name,
            format=format,
            max_duration_seconds=max_duration_seconds,
            beep=beep,
            if_exists=if_exists,
        )
        if self.fail_record:
            raise AriUnavailable(0, "POST", f"/bridges/{bridge_id}/record", "connection refused")
        if bridge_id not in self.bridges:
            raise AriNotFound(404, "POST", f"/bridges/{bridge_id}/record", "Bridge not found")
        exists = name in self.live_recordings or name in self.stored_recordings
        if exists and if_exists == "fail":
            raise AriConflict(409, "POST", f"/bridges/{bridge_id}/record", "Recording exists")
        rec = LiveRecording(
            name=name, format=format, target_uri=f"bridge:{bridge_id}", state="recording"
        )
        self.live_recordings[name] = rec
        return rec

    async def record_channel(
        self, channel_id: str, name: str, *, format: str = "wav", max_duration_seconds: int = 0
    ) -> LiveRecording:
        """One channel's recording (the Hoiio Record block records a snoop channel)."""
        self._record("record_channel", channel_id, name, max_duration=max_duration_seconds)
        self._need_channel(channel_id, "record")
        rec = LiveRecording(
            name=name, format=format, target_uri=f"channel:{channel_id}", state="recording"
        )
        self.live_recordings[name] = rec
        return rec

    async def filter_events(self, allowed: Sequence[str]) -> None:
        self._record("filter_events", tuple(allowed))
        self.event_filter = tuple(allowed)

    async def subscribe(self, event_source: str, name: str | None = None) -> None:
        self._record("subscribe", event_source)
        self.subscriptions.append(event_source)

    def _reachable(self, method: str, path: str) -> None:
        if self.recordings_unreachable:
            raise AriUnavailable(0, method, path, "timed out")

    async def get_live_recording(self, name: str) -> LiveRecording:
        self._record("get_live_recording", name)
        self._reachable("GET", f"/recordings/live/{name}")
        try:
            return self.live_recordings[name]
        except KeyError:
            raise AriNotFound(404, "GET", f"/recordings/live/{name}", "not found") from None

    async def stop_live_recording(self, name: str) -> None:
        self._record("stop_live_recording", name)
        self._reachable("POST", f"/recordings/live/{name}/stop")
        if self.fail_stop_recording:
            raise AriUnavailable(0, "POST", f"/recordings/live/{name}/stop", "refused")
        if name not in self.live_recordings:
            raise AriNotFound(404, "POST", f"/recordings/live/{name}/stop", "not found")
        if self.auto_finish:
            await self.end_recording(name, notify=self.notify_recordings)

    async def cancel_live_recording(self, name: str) -> None:
        self._record("cancel_live_recording", name)
        self._reachable("DELETE", f"/recordings/live/{name}")
        if self.live_recordings.pop(name, None) is None:
            raise AriNotFound(404, "DELETE", f"/recordings/live/{name}", "not found")

    async def end_recording(self, name: str, *, failed: bool = False, notify: bool = True) -> None:
        """What Asterisk does when a recording ends (stop, max_duration, bridge gone): the
        file is stored and RecordingFinished (or RecordingFailed) is sent. notify=False: the
        event is lost (the controller was away)."""
        rec = self.live_recordings.pop(name)
        if not failed:
            self.stored_recordings[name] = self.recording_audio
        if notify and self.engine is not None:
            done = msgspec.structs.replace(rec, state="failed" if failed else "done")
            event = (
                RecordingFailed(type="RecordingFailed", recording=done)
                if failed
                else RecordingFinished(
                    type="RecordingFinished",
                    recording=done,
                    timestamp="2030-01-01T00:00:05.000+0000",
                )
            )
            await self.engine.handle_event(event)

    async def stored_recording_file(self, name: str) -> bytes:
        self._record("stored_recording_file", name)
        self._reachable("GET", f"/recordings/stored/{name}/file")
        try:
            return self.stored_recordings[name]
        except KeyError:
            path = f"/recordings/stored/{name}/file"
            raise AriNotFound(404, "GET", path, "not found") from None

    async def delete_stored_recording(self, name: str) -> None:
        self._record("delete_stored_recording", name)
        self._reachable("DELETE", f"/recordings/stored/{name}")
        if self.stored_recordings.pop(name, None) is None:
            raise AriNotFound(404, "DELETE", f"/recordings/stored/{name}", "not found")

    async def list_stored_recordings(self) -> list[StoredRecording]:
        self._record("list_stored_recordings")
        self._reachable("GET", "/recordings/stored")
        return [StoredRecording(name=n, format="wav") for n in self.stored_recordings]

    # --- dial-out (issue 8): originate makes a Down channel; the test then sends what
    # Asterisk would (ChannelStateChange, StasisStart, ChannelDestroyed). Endpoints in
    # `fail_originate` are refused as Asterisk refuses a bad one.

    fail_originate: set[str] = field(default_factory=set)

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str | None = None,
        app_args: str | Sequence[str] | None = None,
        caller_id: str | None = None,
        timeout: int = 30,
        variables: dict[str, Any] | None = None,
        other_channel_id: str | None = None,
    ) -> Channel:
        self._record(
            "originate",
            endpoint,
            channel_id=channel_id,
            app_args=app_args,
            caller_id=caller_id,
            timeout=timeout,
            variables=variables,
        )
        if endpoint in self.fail_originate:
            raise AriBadRequest(400, "POST", "/channels", "Invalid endpoint")
        channel = Channel(id=channel_id, name=f"{endpoint}-0001", state="Down")
        self.channels[channel_id] = channel
        return channel


def tone_wav(seconds: float = 1.0, freq: float = 440.0, rate: int = 8000) -> bytes:
    """An 8 kHz mono 16-bit WAV, as Asterisk records one."""
    n = int(seconds * rate)
    samples = array.array(
        "h", (int(12000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


_channel_ids = itertools.count(1)


@dataclass
class ApiHarness:
    client: TestClient[Any, Any]
    engine: Engine
    store: SqliteStore
    ari: FakeAri
    settings: Settings

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "tok-a",
        json: Any = None,
        data: bytes | str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON body). token None: no Authorization header."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs.setdefault("Authorization", f"Bearer {token}")
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.client.request(method, path, **kwargs) as resp:
            assert resp.content_type == "application/json", await resp.text()
            return resp.status, await resp.json()

    async def create(self, token: str = "tok-a", **fields: Any) -> dict[str, Any]:
        status, body = await self.request(
            "POST", "/v1/conferences", token=token, json={"type": "conference", **fields}
        )
        assert status == 201, body
        return body  # type: ignore[no-any-return]

    async def dial_in(self, room: str, *, name: str = "Alice", number: str = "1001") -> str:
        """A caller dials the room and its audio gets connected: returns the
        conferencecall id (status joined)."""
        channel = msgspec.convert(
            {
                "id": f"chan-{next(_channel_ids)}",
                "name": f"PJSIP/{number}-0001",
                "state": "Ring",
                "caller": {"name": name, "number": number},
                "dialplan": {"app_name": "Stasis", "app_data": f"confsvc,{room}"},
            },
            Channel,
        )
        self.ari.channels[channel.id] = channel
        await self.engine.handle_event(
            StasisStart(type="StasisStart", args=[room], channel=channel)
        )
        await self.engine.settle()
        call_id = self.engine.channels[channel.id]
        conference_id = self.engine.call_conference[call_id]
        await self.engine.handle_event(
            ChannelEnteredBridge(
                type="ChannelEnteredBridge",
                bridge=self.ari.bridges[conference_id],
                channel=channel,
            )
        )
        await self.engine.settle()
        return call_id


@asynccontextmanager
async def api_harness(
    tmp_path: Path,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    **overrides: Any,
) -> AsyncIterator[ApiHarness]:
    """overrides: more Settings fields (e.g. webhook_secrets=...)."""
    settings = Settings(
        **{
            "tokens": ",".join(f"{t}:{c}" for t, c in TOKENS.items()),
            "sip_host": DIAL_HOST,
            "auto_create_rooms": False,
            "data_dir": str(tmp_path / "data"),
            **overrides,
        }
    )
    ari = FakeAri()
    async with SqliteStore(tmp_path / "api.sqlite3") as store:
        outbound = offline_policy(settings)
        bus = events_wiring.connect(store, settings)
        engine = Engine(settings, store, ari, bus=bus, outbound=outbound)  # type: ignore[arg-type]
        ari.engine = engine
        app = create_app(settings, store, engine, health=health)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield ApiHarness(client, engine, store, ari, settings)
        finally:
            await client.close()
            await engine.settle()
            await engine.close()


# --- engine harness (tests/unit/test_engine_*.py) ---------------------------------------
# The real Engine and SqliteStore without HTTP; ARI events are built with parse_event from
# plain dicts, as the event stream does. Imported here, not at the top, so this block
# stays a pure addition at the end of the file.

import asyncio  # noqa: E402
import inspect  # noqa: E402
from collections.abc import Awaitable  # noqa: E402

from confsvc.ari import AriError, Event, parse_event  # noqa: E402
from confsvc.domain import Conference, Conferencecall  # noqa: E402

APP = "confsvc"


@dataclass
class ScriptedAri(FakeAri):
    """FakeAri plus the knobs engine tests need (FakeAri itself is unchanged):
    - bridges made by create_bridge carry creator=app, as Asterisk sets it;
    - channel_errors: Asterisk's answer about that channel id: an AriNotFound leaves it
      out of list_channels, any other error fails list_channels."""

    app: str = APP
    channel_errors: dict[str, AriError] = field(default_factory=dict)

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing", name: str | None = None
    ) -> Bridge:
        bridge = await super().create_bridge(bridge_id, type=type, name=name)
        bridge.creator = self.app
        return bridge

    async def list_channels(self) -> list[Channel]:
        """Channels scripted as 404 are not listed; any other scripted error (e.g.
        AriUnavailable) fails the whole list, as a down Asterisk would."""
        for error in self.channel_errors.values():
            if not isinstance(error, AriNotFound):
                self._record("list_channels")
                raise error
        listed = await super().list_channels()
        return [c for c in listed if c.id not in self.channel_errors]

    def mark(self) -> int:
        """A point in the call log, for `names_since`."""
        return len(self.calls)

    def names_since(self, mark: int) -> list[str]:
        return [name for name, _, _ in self.calls[mark:]]


def channel_json(
    channel_id: str, room: str | None = None, *, number: str = "1001", name: str = "Alice"
) -> dict[str, Any]:
    """An ARI channel as JSON; with a room it sits in Stasis(confsvc,<room>) like a
    dial-in does."""
    data: dict[str, Any] = {
        "id": channel_id,
        "name": f"PJSIP/{number}-{channel_id}",
        "state": "Ring",
        "caller": {"name": name, "number": number},
    }
    if room is not None:
        data["dialplan"] = {
            "context": "confsvc",
            "exten": room,
            "priority": 2,
            "app_name": "Stasis",
            "app_data": f"{APP},{room}",
        }
    return data


@dataclass
class EngineHarness:
    engine: Engine
    store: SqliteStore
    ari: ScriptedAri
    settings: Settings
    channel_data: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def send(self, data: dict[str, Any]) -> Event:
        """One ARI event through the engine's router, then wait for its lane work."""
        event = parse_event({"application": APP, **data})
        await self.engine.handle_event(event)
        await self.engine.settle()
        return event

    def add_channel(self, channel_id: str, room: str | None = None, **caller: str) -> Channel:
        """A channel Asterisk has (listed by list_channels)."""
        data = channel_json(channel_id, room, **caller)
        self.channel_data[channel_id] = data
        channel = msgspec.convert(data, Channel)
        self.ari.channels[channel_id] = channel
        return channel

    async def stasis_start(
        self, channel_id: str, room: str, *, args: list[str] | None = None, **caller: str
    ) -> None:
        self.add_channel(channel_id, room, **caller)
        await self.send(
            {
                "type": "StasisStart",
                "args": [room] if args is None else args,
                "channel": self.channel_data[channel_id],
            }
        )

    def bridge_json(self, bridge_id: str) -> dict[str, Any]:
        bridge = self.ari.bridges.get(bridge_id)
        return msgspec.to_builtins(bridge) if bridge is not None else {"id": bridge_id}

    async def entered(self, channel_id: str, bridge_id: str) -> None:
        await self.send(
            {
                "type": "ChannelEnteredBridge",
                "bridge": self.bridge_json(bridge_id),
                "channel": self.channel_data[channel_id],
            }
        )

    async def dial_in(self, channel_id: str, room: str, **caller: str) -> Conferencecall:
        """StasisStart + ChannelEnteredBridge: the caller ends joined."""
        await self.stasis_start(channel_id, room, **caller)
        conference_id = self.engine.call_conference[self.engine.channels[channel_id]]
        await self.entered(channel_id, conference_id)
        return await self.call_of(channel_id)

    async def caller_hangs_up(self, channel_id: str) -> None:
        """What Asterisk sends when the caller hangs up: hangup request, left bridge (when
        in one), StasisEnd; the channel is gone from the fake afterwards."""
        channel = self.channel_data[channel_id]
        self.ari.channels.pop(channel_id, None)
        await self.send({"type": "ChannelHangupRequest", "cause": 16, "channel": channel})
        for bridge in list(self.ari.bridges.values()):
            if channel_id in bridge.channels:
                bridge.channels.remove(channel_id)
                await self.send(
                    {
                        "type": "ChannelLeftBridge",
                        "bridge": msgspec.to_builtins(bridge),
                        "channel": channel,
                    }
                )
        await self.send({"type": "StasisEnd", "channel": channel})

    async def create(self, customer_id: str = "cust-a", **fields: Any) -> Conference:
        return await self.engine.create_conference(customer_id, **fields)

    async def conference(self, conference_id: str) -> Conference:
        conf = await self.store.get_conference(conference_id)
        assert conf is not None, conference_id
        return conf

    async def calls_of(self, channel_id: str) -> list[Conferencecall]:
        """Every stored conferencecall of the channel, any tenant, any status."""
        found = []
        for conf in await self._all_conferences():
            page, _ = await self.store.list_conferencecalls(
                conf.customer_id, conference_id=conf.id, page_size=100
            )
            found += [c for c in page if c.reference_id == channel_id]
        return found

    async def call_of(self, channel_id: str) -> Conferencecall:
        """The one stored conferencecall of the channel (fails on none or duplicates)."""
        calls = await self.calls_of(channel_id)
        assert len(calls) == 1, calls
        return calls[0]

    async def _all_conferences(self) -> list[Conference]:
        out: list[Conference] = []
        for customer in sorted(self._customers):
            page, _ = await self.store.list_conferences(customer, page_size=100)
            out += page
        return out

    @property
    def _customers(self) -> set[str]:
        return {*TOKENS.values(), self.settings.auto_create_customer}

    async def snapshot(self) -> list[dict[str, Any]]:
        """Every conference of every known tenant with its calls, for before/after checks."""
        out = []
        for conf in await self._all_conferences():
            calls, _ = await self.store.list_conferencecalls(
                conf.customer_id, conference_id=conf.id, page_size=100
            )
            out.append(
                {
                    "conference": conf.model_dump(exclude={"tm_update"}),
                    "calls": [c.model_dump(exclude={"tm_update"}) for c in calls],
                }
            )
        return out

    async def restart(self) -> Engine:
        """A new Engine on the same store and fake (the old one closed): its maps and
        timers are empty, as after a controller restart."""
        await self.engine.settle()
        await self.engine.close()
        self.engine = Engine(
            self.settings,
            self.store,
            self.ari,  # type: ignore[arg-type]
            bus=events_wiring.connect(self.store, self.settings),
            outbound=offline_policy(self.settings),
        )
        self.ari.engine = self.engine
        return self.engine


@asynccontextmanager
async def engine_harness(tmp_path: Path, **settings: Any) -> AsyncIterator[EngineHarness]:
    """settings: Settings overrides (e.g. auto_create_rooms=True)."""
    config = Settings(
        **{
            "tokens": ",".join(f"{t}:{c}" for t, c in TOKENS.items()),
            "sip_host": DIAL_HOST,
            "ari_app": APP,
            "auto_create_rooms": False,
            "auto_create_customer": "dev",
            **settings,
        }
    )
    ari = ScriptedAri()
    # db_url: another store (bench.engine_cpu --db-url postgresql://...); SQLite by default.
    path = tmp_path / "engine.sqlite3"
    async with make_store(config.db_url) if config.db_url else SqliteStore(path) as store:
        bus = events_wiring.connect(store, config)
        engine = Engine(  # type: ignore[arg-type]
            config, store, ari, bus=bus, outbound=offline_policy(config)
        )
        ari.engine = engine
        harness = EngineHarness(engine, store, ari, config)
        try:
            yield harness
        finally:
            await harness.engine.settle()
            await harness.engine.close()


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 1.0, step: float = 0.005
) -> None:
    """Poll check() (plain or async) until it is true; AssertionError after timeout. For
    what runs outside the lanes (timers, the 'conference full' prompt)."""
    for _ in range(max(1, int(timeout / step))):
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(step)
    raise AssertionError(f"not true within {timeout} s: {check}")
