"""A small typed asyncio client for the ARI REST API (Asterisk 22, ARI 10).

Knows ARI, not conferences. Every method is one HTTP call; non-2xx answers become
the typed exceptions of `confsvc.ari.errors`. Only the calls confsvc makes are here.

Encoding rules (allowMultiple, booleans, path segments, '+'): confsvc/ari/encoding.py.
JSON both ways: confsvc/ari/codec.py (msgspec, straight into the typed models).

Connections: one kept-alive pool, so a burst of joins reuses connections instead of
opening one per request. Its size stays below Asterisk's http.conf `sessionlimit`
(default 100, the event websocket counts too): a connection over the limit is closed
by Asterisk without an answer. Idle connections are dropped by us before Asterisk's
`session_keep_alive` (15 s) drops them, so a request never lands on a closing one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiohttp
import msgspec
import structlog
import yarl

from confsvc.ari.codec import decode, encode
from confsvc.ari.encoding import Params, _error_message, _join, _seg, encode_params
from confsvc.ari.errors import AriError, AriUnavailable, error_for
from confsvc.ari.models import Bridge, Channel, LiveRecording, Playback, StoredRecording

log = structlog.get_logger(__name__)

T = TypeVar("T")

_JSON = {"Content-Type": "application/json"}
Observer = Callable[[str, str, int, float], None]
# Below Asterisk's default sessionlimit (100) with room for the event websocket and
# an operator's own ARI tools; 64 requests in flight already keep 2 cores busy.
POOL_SIZE = 64
# Asterisk closes a connection idle for session_keep_alive (15 s by default).
KEEPALIVE_S = 10.0


class AriClient:
    """ARI REST client. One aiohttp session (basic auth, kept-alive pool) per client.

    `timeout` (s) bounds every call but the recording download, which may take longer
    for a long recording: it only needs data to keep arriving every `timeout` seconds."""

    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        timeout: float = 10.0,
        pool_size: int = POOL_SIZE,
        observe: Observer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        # A default header, not auth=: aiohttp 3.14 deprecates BasicAuth/auth=.
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._download_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout, sock_read=timeout
        )
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        # (method, path, status (0: no answer), seconds) after every request: metrics.
        self._observe = observe

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._get_session()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> AriClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        # Created lazily so the client can be built outside a running event loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
            )
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=connector
            )
        return self._session

    # --- transport ---------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Any = None,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> tuple[int, bytes]:
        """One ARI call: the answer's status and body (b"" when empty). `body` is sent as
        JSON."""
        # encoded=True: keep our %2F etc. in path segments exactly as quoted.
        url = yarl.URL(self.base_url + path, encoded=True)
        query = encode_params(params)
        data, headers = (None, None) if body is None else (encode(body), _JSON)
        started = time.monotonic()
        try:
            async with self._get_session().request(
                method,
                url,
                params=query or None,
                data=data,
                headers=headers,
                timeout=timeout or self._timeout,
            ) as resp:
                content = await resp.read()
                status, reason = resp.status, resp.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            log.debug("ari.request.failed", method=method, path=path, error=detail)
            if self._observe is not None:
                self._observe(method, path, 0, time.monotonic() - started)
            raise AriUnavailable(0, method, path, detail) from exc
        log.debug("ari.request", method=method, path=path, status=status)
        if self._observe is not None:
            self._observe(method, path, status, time.monotonic() - started)
        if not 200 <= status < 300:
            raise error_for(status, method, path, _error_message(content, reason))
        return status, content

    async def _fetch(
        self, into: type[T], method: str, path: str, params: Params | None = None, body: Any = None
    ) -> T:
        """One ARI call whose answer is a resource (or list of them) of type `into`."""
        status, content = await self._request(method, path, params, body)
        try:
            return decode(content, into)
        except msgspec.DecodeError as exc:
            raise AriError(status, method, path, f"unexpected response: {exc}") from exc

    # --- channels ----------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        return await self._fetch(list[Channel], "GET", "/channels")

    async def get_channel(self, channel_id: str) -> Channel:
        return await self._fetch(Channel, "GET", f"/channels/{_seg(channel_id)}")

    async def answer(self, channel_id: str) -> None:
        await self._request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def hangup(
        self, channel_id: str, reason: str | None = "normal", *, reason_code: str | None = None
    ) -> None:
        # reason and reason_code are mutually exclusive in ARI; reason_code wins if given.
        params = {"reason_code": reason_code} if reason_code else {"reason": reason}
        await self._request("DELETE", f"/channels/{_seg(channel_id)}", params)

    async def play_on_channel(
        self,
        channel_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        params = {"media": _join(media), "playbackId": playback_id, "lang": lang}
        return await self._fetch(Playback, "POST", f"/channels/{_seg(channel_id)}/play", params)

    async def mute(self, channel_id: str, direction: str = "both") -> None:
        path = f"/channels/{_seg(channel_id)}/mute"
        await self._request("POST", path, {"direction": direction})

    async def unmute(self, channel_id: str, direction: str = "both") -> None:
        path = f"/channels/{_seg(channel_id)}/mute"
        await self._request("DELETE", path, {"direction": direction})

    async def send_dtmf(self, channel_id: str, dtmf: str) -> None:
        await self._request("POST", f"/channels/{_seg(channel_id)}/dtmf", {"dtmf": dtmf})

    async def set_channel_var(self, channel_id: str, variable: str, value: str | None) -> None:
        params = {"variable": variable, "value": value}
        await self._request("POST", f"/channels/{_seg(channel_id)}/variable", params)

    async def originate(
        self,
        endpoint: str,
        *,
        channel_id: str,
        app: str | None = None,
        app_args: str | Sequence[str] | None = None,
        caller_id: str | None = None,
        timeout: int = 30,  # ARI's dial timeout (s)
        variables: Mapping[str, Any] | None = None,
        other_channel_id: str | None = None,
    ) -> Channel:
        """POST /channels into Stasis `app` (default: this client's app). `variables`
        go in the JSON body: values are strings or {"value": str, "report_events": bool}."""
        params = {
            "endpoint": endpoint,
            "channelId": channel_id,
            "app": app or self.app,
            # Stasis() splits its data on ',' into StasisStart.args.
            "appArgs": None if app_args is None else _join(app_args),
            "callerId": caller_id,
            "timeout": timeout,
            "otherChannelId": other_channel_id,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self._fetch(Channel, "POST", "/channels", params, body)

    async def snoop(
        self, channel_id: str, snoop_id: str, *, spy: str = "in", app: str | None = None
    ) -> Channel:
        """POST /channels/{id}/snoop (snoopChannelWithId): a channel carrying what the
        caller sends (spy=in), into Stasis `app`; transcription (engine/transcribe.py)."""
        params = {"spy": spy, "whisper": "none", "app": app or self.app, "snoopId": snoop_id}
        return await self._fetch(Channel, "POST", f"/channels/{_seg(channel_id)}/snoop", params)

    async def external_media(
        self, channel_id: str, external_host: str, *, format: str = "slin16", app: str | None = None
    ) -> Channel:
        """POST /channels/externalMedia: RTP over UDP to external_host (host:port)."""
        params = {
            "channelId": channel_id,
            "app": app or self.app,
            "external_host": external_host,
            "encapsulation": "rtp",
            "transport": "udp",
            "format": format,
        }
        return await self._fetch(Channel, "POST", "/channels/externalMedia", params)

    # --- bridges -----------------------------------------------------------------------

    async def list_bridges(self) -> list[Bridge]:
        return await self._fetch(list[Bridge], "GET", "/bridges")

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing", name: str | None = None
    ) -> Bridge:
        """POST /bridges/{bridgeId} (createWithId). `type` is a comma list of
        attributes: mixing, holding, dtmf_events, proxy_media, video_sfu, ..."""
        params = {"type": type, "name": name}
        return await self._fetch(Bridge, "POST", f"/bridges/{_seg(bridge_id)}", params)

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._request("DELETE", f"/bridges/{_seg(bridge_id)}")

    async def add_channel(
        self,
        bridge_id: str,
        channel_id: str | Sequence[str],
        role: str | None = None,
        absorb_dtmf: bool | None = None,
        mute: bool | None = None,
        inhibit_connected_line_updates: bool | None = None,
    ) -> None:
        params = {
            "channel": _join(channel_id),
            "role": role,
            "absorbDTMF": absorb_dtmf,
            "mute": mute,
            "inhibitConnectedLineUpdates": inhibit_connected_line_updates,
        }
        await self._request("POST", f"/bridges/{_seg(bridge_id)}/addChannel", params)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        params = {"channel": channel_id}
        await self._request("POST", f"/bridges/{_seg(bridge_id)}/removeChannel", params)

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        params = {"media": _join(media), "playbackId": playback_id, "lang": lang}
        return await self._fetch(Playback, "POST", f"/bridges/{_seg(bridge_id)}/play", params)

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
        params: Params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_seconds,
            "maxSilenceSeconds": max_silence_seconds,
            "ifExists": if_exists,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        path = f"/bridges/{_seg(bridge_id)}/record"
        return await self._fetch(LiveRecording, "POST", path, params)

    async def record_channel(
        self, channel_id: str, name: str, *, format: str = "wav", max_duration_seconds: int = 0
    ) -> LiveRecording:
        """POST /channels/{id}/record (one channel's audio: a snoop's, the Record block)."""
        params: Params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_seconds,
            "ifExists": "fail",
            "beep": False,
            "terminateOn": "none",
        }
        path = f"/channels/{_seg(channel_id)}/record"
        return await self._fetch(LiveRecording, "POST", path, params)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        path = f"/bridges/{_seg(bridge_id)}/moh"
        await self._request("POST", path, {"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self._request("DELETE", f"/bridges/{_seg(bridge_id)}/moh")

    # --- recordings and playbacks ------------------------------------------------------

    async def list_stored_recordings(self) -> list[StoredRecording]:
        return await self._fetch(list[StoredRecording], "GET", "/recordings/stored")

    async def get_live_recording(self, name: str) -> LiveRecording:
        return await self._fetch(LiveRecording, "GET", f"/recordings/live/{_seg(name)}")

    async def stop_live_recording(self, name: str) -> None:
        """Stop and keep the file (-> RecordingFinished)."""
        await self._request("POST", f"/recordings/live/{_seg(name)}/stop")

    async def cancel_live_recording(self, name: str) -> None:
        """Stop and discard the file."""
        await self._request("DELETE", f"/recordings/live/{_seg(name)}")

    async def delete_stored_recording(self, name: str) -> None:
        await self._request("DELETE", f"/recordings/stored/{_seg(name)}")

    async def stored_recording_file(self, name: str) -> bytes:
        """The recorded file's bytes, without the total timeout of other calls."""
        path = f"/recordings/stored/{_seg(name)}/file"
        _, content = await self._request("GET", path, timeout=self._download_timeout)
        return content

    async def stop_playback(self, playback_id: str) -> None:
        await self._request("DELETE", f"/playbacks/{_seg(playback_id)}")

    async def filter_events(self, allowed: Sequence[str]) -> None:
        """Only these event types reach the app: Asterisk sends a dozen ChannelVarset and
        ChannelDialplan events per call that nothing here reads."""
        body = {"allowed": [{"type": t} for t in allowed], "disallowed": []}
        await self._request("PUT", f"/applications/{_seg(self.app)}/eventFilter", body=body)

    async def subscribe(self, event_source: str) -> None:
        """Subscribe the app to e.g. `bridge:<id>`. A bridge the app created is not
        subscribed until one of the app's channels enters it: until then its events
        (RecordingStarted/Finished of a recording of the empty bridge) go nowhere."""
        path = f"/applications/{_seg(self.app)}/subscription"
        await self._request("POST", path, {"eventSource": event_source})
