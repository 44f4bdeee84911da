"""A small typed asyncio client for the ARI REST API (Asterisk 22, ARI 10).

Knows ARI, not conferences. Every method is one HTTP call; non-2xx answers become
the typed exceptions of `confsvc.ari.errors`.

Encoding rules (allowMultiple, booleans, path segments, '+'): confsvc/ari/encoding.py.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import structlog
import yarl

from confsvc.ari.encoding import Params, _error_message, _join, _seg, encode_params
from confsvc.ari.errors import AriError, AriNotFound, AriUnavailable, error_for
from confsvc.ari.models import (
    AsteriskInfo,
    AsteriskPing,
    Bridge,
    Channel,
    LiveRecording,
    Playback,
    StoredRecording,
)

log = structlog.get_logger(__name__)


class AriClient:
    """ARI REST client. One aiohttp session (basic auth) per client."""

    def __init__(
        self, base_url: str, user: str, password: str, app: str, *, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        # A default header, not auth=: aiohttp 3.14 deprecates BasicAuth/auth=.
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

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
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    # --- transport ---------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        json: Any = None,
        *,
        raw: bool = False,
    ) -> Any:
        """One ARI call. Returns parsed JSON, None for empty bodies, or bytes if raw."""
        # encoded=True: keep our %2F etc. in path segments exactly as quoted.
        url = yarl.URL(self.base_url + path, encoded=True)
        query = encode_params(params)
        try:
            async with self._get_session().request(
                method, url, params=query or None, json=json
            ) as resp:
                body = await resp.read()
                status, reason = resp.status, resp.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            log.debug("ari.request.failed", method=method, path=path, error=detail)
            raise AriUnavailable(0, method, path, detail) from exc
        log.debug("ari.request", method=method, path=path, status=status)
        if not 200 <= status < 300:
            raise error_for(status, method, path, _error_message(body, reason))
        if raw:
            return body
        if status == 204 or not body.strip():
            return None
        try:
            return jsonlib.loads(body)
        except ValueError as exc:
            raise AriError(status, method, path, "response is not JSON") from exc

    # --- asterisk ----------------------------------------------------------------------

    async def asterisk_info(self) -> AsteriskInfo:
        return AsteriskInfo.model_validate(await self._request("GET", "/asterisk/info"))

    async def ping(self) -> AsteriskPing:
        return AsteriskPing.model_validate(await self._request("GET", "/asterisk/ping"))

    # --- channels ----------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in await self._request("GET", "/channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        data = await self._request("GET", f"/channels/{_seg(channel_id)}")
        return Channel.model_validate(data)

    async def answer(self, channel_id: str) -> None:
        await self._request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def hangup(
        self, channel_id: str, reason: str | None = "normal", *, reason_code: str | None = None
    ) -> None:
        # reason and reason_code are mutually exclusive in ARI; reason_code wins if given.
        params = {"reason_code": reason_code} if reason_code else {"reason": reason}
        await self._request("DELETE", f"/channels/{_seg(channel_id)}", params)

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        params = dict(context=context, extension=extension, priority=priority, label=label)
        await self._request("POST", f"/channels/{_seg(channel_id)}/continue", params)

    async def ring(self, channel_id: str) -> None:
        await self._request("POST", f"/channels/{_seg(channel_id)}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self._request("DELETE", f"/channels/{_seg(channel_id)}/ring")

    async def play_on_channel(
        self,
        channel_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        params = {"media": _join(media), "playbackId": playback_id, "lang": lang}
        data = await self._request("POST", f"/channels/{_seg(channel_id)}/play", params)
        return Playback.model_validate(data)

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

    async def get_channel_var(self, channel_id: str, variable: str) -> str | None:
        """The variable's value, or None on 404 (ARI: 'Channel or variable not found')."""
        path = f"/channels/{_seg(channel_id)}/variable"
        try:
            data = await self._request("GET", path, {"variable": variable})
        except AriNotFound:
            return None
        return None if data is None else data.get("value")

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
        return Channel.model_validate(await self._request("POST", "/channels", params, body))

    async def snoop(
        self,
        channel_id: str,
        *,
        snoop_id: str,
        app: str | None = None,
        spy: str = "none",
        whisper: str = "none",
        app_args: str | Sequence[str] | None = None,
    ) -> Channel:
        params = {
            "snoopId": snoop_id,
            "app": app or self.app,
            "spy": spy,
            "whisper": whisper,
            "appArgs": None if app_args is None else _join(app_args),
        }
        data = await self._request("POST", f"/channels/{_seg(channel_id)}/snoop", params)
        return Channel.model_validate(data)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        path = f"/channels/{_seg(channel_id)}/moh"
        await self._request("POST", path, {"mohClass": moh_class})

    async def stop_moh(self, channel_id: str) -> None:
        await self._request("DELETE", f"/channels/{_seg(channel_id)}/moh")

    async def dial(
        self,
        channel_id: str,
        caller: str | None = None,
        timeout: int | None = None,  # ARI's dial timeout (s)
    ) -> None:
        params = {"caller": caller, "timeout": timeout}
        await self._request("POST", f"/channels/{_seg(channel_id)}/dial", params)

    # --- bridges -----------------------------------------------------------------------

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.model_validate(b) for b in await self._request("GET", "/bridges")]

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return Bridge.model_validate(await self._request("GET", f"/bridges/{_seg(bridge_id)}"))

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing", name: str | None = None
    ) -> Bridge:
        """POST /bridges/{bridgeId} (createWithId). `type` is a comma list of
        attributes: mixing, holding, dtmf_events, proxy_media, video_sfu, ..."""
        params = {"type": type, "name": name}
        data = await self._request("POST", f"/bridges/{_seg(bridge_id)}", params)
        return Bridge.model_validate(data)

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

    async def remove_channel(self, bridge_id: str, channel_id: str | Sequence[str]) -> None:
        path = f"/bridges/{_seg(bridge_id)}/removeChannel"
        await self._request("POST", path, {"channel": _join(channel_id)})

    async def play_on_bridge(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        params = {"media": _join(media), "playbackId": playback_id, "lang": lang}
        data = await self._request("POST", f"/bridges/{_seg(bridge_id)}/play", params)
        return Playback.model_validate(data)

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
        params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_seconds,
            "maxSilenceSeconds": max_silence_seconds,
            "ifExists": if_exists,
            "beep": beep,
            "terminateOn": terminate_on,
        }
        data = await self._request("POST", f"/bridges/{_seg(bridge_id)}/record", params)
        return LiveRecording.model_validate(data)

    async def start_bridge_moh(self, bridge_id: str, moh_class: str | None = None) -> None:
        path = f"/bridges/{_seg(bridge_id)}/moh"
        await self._request("POST", path, {"mohClass": moh_class})

    async def stop_bridge_moh(self, bridge_id: str) -> None:
        await self._request("DELETE", f"/bridges/{_seg(bridge_id)}/moh")

    # --- recordings --------------------------------------------------------------------

    async def get_live_recording(self, name: str) -> LiveRecording:
        data = await self._request("GET", f"/recordings/live/{_seg(name)}")
        return LiveRecording.model_validate(data)

    async def stop_live_recording(self, name: str) -> None:
        """Stop and keep the file (-> RecordingFinished)."""
        await self._request("POST", f"/recordings/live/{_seg(name)}/stop")

    async def cancel_live_recording(self, name: str) -> None:
        """Stop and discard the file."""
        await self._request("DELETE", f"/recordings/live/{_seg(name)}")

    async def list_stored_recordings(self) -> list[StoredRecording]:
        data = await self._request("GET", "/recordings/stored")
        return [StoredRecording.model_validate(r) for r in data]

    async def get_stored_recording(self, name: str) -> StoredRecording:
        data = await self._request("GET", f"/recordings/stored/{_seg(name)}")
        return StoredRecording.model_validate(data)

    async def delete_stored_recording(self, name: str) -> None:
        await self._request("DELETE", f"/recordings/stored/{_seg(name)}")

    async def stored_recording_file(self, name: str) -> bytes:
        path = f"/recordings/stored/{_seg(name)}/file"
        data: bytes = await self._request("GET", path, raw=True)
        return data

    # --- playbacks / applications ------------------------------------------------------

    async def get_playback(self, playback_id: str) -> Playback:
        data = await self._request("GET", f"/playbacks/{_seg(playback_id)}")
        return Playback.model_validate(data)

    async def stop_playback(self, playback_id: str) -> None:
        await self._request("DELETE", f"/playbacks/{_seg(playback_id)}")

    async def get_application(self, name: str | None = None) -> dict[str, Any]:
        path = f"/applications/{_seg(name or self.app)}"
        data: dict[str, Any] = await self._request("GET", path)
        return data

    async def subscribe(self, event_source: str, name: str | None = None) -> None:
        """Subscribe the app to e.g. `bridge:<id>`. A bridge the app created is not
        subscribed until one of the app's channels enters it: until then its events
        (RecordingStarted/Finished of a recording of the empty bridge) go nowhere."""
        path = f"/applications/{_seg(name or self.app)}/subscription"
        await self._request("POST", path, {"eventSource": event_source})
