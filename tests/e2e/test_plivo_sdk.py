"""Plivo's own Python SDK (`plivo` on PyPI, unmodified) against confsvc: only its base URL
is changed, it authenticates with the tenant's generated auth_id / auth_token (HTTP Basic),
and it drives a real room on a real Asterisk with real baresip phones: list, get (with
members), mute, deaf, play, speak, record, kick, hang up. Audio is proved by FFT. A
receiver checks the Plivo-style callbacks (the conference's callback_url and an async
call's result) with the SDK's own `validate_v3_signature`."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import plivo
import plivo.rest.client as plivo_client
import pytest
from plivo import exceptions as plivo_errors
from plivo.utils import validate_v3_signature

from confsvc.config import Settings
from confsvc.speech import Speech, SpeechConfig, check
from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_participant_control import call_of, dial, segment, share, sound_server
from tests.support.audio import ABSENT, HEARD, rms, write_tone
from tests.support.controller import Controller
from tests.support.events import Received, Receiver
from tests.support.phone import free_port
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

TONES = [440.0, 1150.0]
URL_TONE = 2100.0
T = TypeVar("T")


@pytest.fixture
def sdk(controller: Controller, monkeypatch: pytest.MonkeyPatch) -> Iterator[plivo.RestClient]:
    """The SDK as an app would make it, its voice base URL pointed at confsvc."""
    base = f"{controller.base}/v1/Account"
    for name in (
        "API_VOICE_BASE_URI",
        "API_VOICE_BASE_URI_FALLBACK_1",
        "API_VOICE_BASE_URI_FALLBACK_2",
    ):
        monkeypatch.setattr(plivo_client, name, base)
    account = controller.plivo["tenant-a"]
    client = plivo.RestClient(account.auth_id, account.auth_token)
    yield client
    client.session.close()


async def call(fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """The SDK is synchronous (requests): off the event loop."""
    return await asyncio.to_thread(fn, *args, **kw)


def v3_valid(req: Received, url: str, token: str) -> bool:
    """What a Plivo app does with a callback: the SDK's validator over the URL it
    registered and the form fields it got."""
    return bool(
        validate_v3_signature(
            req.method,
            url,
            req.headers["X-Plivo-Signature-V3-Nonce"],
            token,
            req.headers["X-Plivo-Signature-V3"],
            req.form,
        )
    )


async def test_the_plivo_sdk_drives_a_real_room(
    runtime: Runtime, controller: Controller, sdk: plivo.RestClient, tmp_path: Path
) -> None:
    write_tone(tmp_path / "tone.wav", URL_TONE, 1.5)
    receiver = Receiver()
    await receiver.start()
    conf = await create_room(controller, "sdkroom", callback_url=f"{receiver.url}/conf")
    confs = sdk.conferences
    token = controller.plivo["tenant-a"].auth_token
    # New words each run, so speech is made (not found in the cache); removed afterwards.
    words = f"Hello from the conference service, test {secrets.randbelow(10**6)}."
    speech = Speech(SpeechConfig(Settings().asterisk_sounds_dir, runtime.root))
    made = speech.file_of(*check(words, "en-GB", "MAN"))
    assert not made.exists()
    async with (
        sound_server(tmp_path, free_port()) as sounds,
        phones(runtime, TONES, "sdk") as (a, b),
    ):
        t_a = await dial(a, "sdkroom")
        t_b = await dial(b, "sdkroom")
        await wait_joined(controller, conf["id"], 2)
        calls = await calls_of(controller, conf["id"])
        alice, bob = call_of(calls, "alice")["id"], call_of(calls, "bob")["id"]

        listed = await call(confs.list)
        assert listed.conferences == ["sdkroom"] and listed.api_id
        got = await call(confs.get, "sdkroom")  # sends conference_name: ignored
        assert got.conference_name == "sdkroom" and got.conference_member_count == "2"
        assert {m.member_id for m in got.members} == {alice, bob}
        with pytest.raises(plivo_errors.ResourceNotFoundError):
            await call(confs.get, "nosuchroom")

        # Mute bob: alice stops hearing his tone.
        await asyncio.sleep(1.0)
        t_mute = time.monotonic()
        muted = await call(confs.member_mute, "sdkroom", bob)
        assert muted.member_id == [bob] and muted.message == "muted"
        await asyncio.sleep(2.0)
        t_unmute = time.monotonic()
        # Asynchronously: 202 at once, the result comes to the callback_url, V3-signed.
        spawned = await call(
            confs.member_mute_stop, "sdkroom", bob, callback_url=f"{receiver.url}/api"
        )
        assert spawned.message == "async api spawned"
        await asyncio.sleep(1.5)

        # Deafen alice: she hears nothing while bob still hears her.
        t_deaf = time.monotonic()
        await call(confs.member_deaf, "sdkroom", alice)
        await asyncio.sleep(2.0)
        t_undeaf = time.monotonic()
        await call(confs.member_deaf_stop, "sdkroom", alice)
        await asyncio.sleep(1.0)

        # Play a URL to alice only.
        t_play = time.monotonic()
        await call(confs.member_play, "sdkroom", alice, f"{sounds}/tone.wav")
        await asyncio.sleep(2.5)

        # Speak to alice with bob muted: the speech is all she hears.
        await call(confs.member_mute, "sdkroom", bob)
        await asyncio.sleep(1.0)
        t_speak = time.monotonic()
        spoken = await call(
            confs.member_speak, "sdkroom", alice, words, voice="MAN", language="en-GB"
        )
        assert made.exists()  # generated for this call (the words are new), kept for the next
        assert spoken.member_id == [alice]
        await asyncio.sleep(2.5)
        await call(confs.member_speak_stop, "sdkroom", alice)
        # A known parameter's wrong value is still refused (the SDK raises our error code).
        with pytest.raises(plivo_errors.InvalidRequestError, match="invalid_field"):
            await call(confs.member_speak, "sdkroom", alice, "x", voice="ROBOT")
        with pytest.raises(plivo_errors.InvalidRequestError, match="invalid_field"):
            await call(confs.member_speak, "sdkroom", alice, "x", language="xx-YY")
        await call(confs.member_mute_stop, "sdkroom", bob)

        # Record the conference (the SDK's transcription options are ignored).
        started = await call(confs.record, "sdkroom", file_format="wav", transcription_type="auto")
        assert started.recording_id and started.message == "conference recording started"
        await asyncio.sleep(1.5)
        await call(confs.record_stop, "sdkroom")
        rec = await controller.wait_for(
            f"/v1/recordings/{started.recording_id}", lambda r: r["status"] == "finished"
        )
        assert rec["format"] == "wav" and rec["conference_id"] == conf["id"]

        # Kick bob, then hang up the room.
        await call(confs.member_kick, "sdkroom", bob)
        await b.wait_event("CALL_CLOSED", timeout=5)
        await call(confs.hangup, "sdkroom")
        await a.wait_event("CALL_CLOSED", timeout=5)
        await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda c: c["status"] == "terminated"
        )
        assert (await call(confs.list)).conferences == []
        await hang_up_all([a, b])
        await receiver.wait(lambda: len(receiver.requests("/conf")) >= 4)  # 2 enter, 2 exit
    await receiver.stop()
    made.unlink()

    (result,) = receiver.requests("/api")
    assert result.form["api_id"] == spawned.api_id and result.form["status"] == "204"
    assert v3_valid(result, f"{receiver.url}/api", token)
    assert not v3_valid(result, f"{receiver.url}/api", controller.plivo["tenant-b"].auth_token)
    actions = [r.form["ConferenceAction"] for r in receiver.requests("/conf")]
    assert actions.count("enter") == 2 and actions.count("exit") == 2, actions
    for req in receiver.requests("/conf"):
        assert v3_valid(req, f"{receiver.url}/conf", token), req.headers

    before = share(a, TONES[1], t_mute - t_a - 1.0, t_mute - t_a)
    during = share(a, TONES[1], t_mute - t_a + 0.4, t_unmute - t_a)
    assert before > HEARD and during < ABSENT, (before, during)
    assert share(a, TONES[1], t_unmute - t_a + 0.4, t_deaf - t_a) > HEARD  # unmuted
    deaf, _ = segment(a, t_deaf - t_a + 0.4, t_undeaf - t_a - 0.5)
    assert rms(deaf) < 100, f"deaf alice heard something (rms {rms(deaf):.0f})"
    assert share(b, TONES[0], t_deaf - t_b + 0.4, t_undeaf - t_b) > HEARD  # she was heard
    assert share(a, URL_TONE, t_play - t_a, t_play - t_a + 2.5) > HEARD
    assert share(b, URL_TONE, t_play - t_b, t_play - t_b + 2.5) < ABSENT
    quiet, _ = segment(a, t_speak - t_a - 0.8, t_speak - t_a)  # bob muted, nothing played
    speech, _ = segment(a, t_speak - t_a, t_speak - t_a + 2.5)
    assert rms(quiet) < 100 and rms(speech) > 300, (rms(quiet), rms(speech))
    heard_by_bob, _ = segment(b, t_speak - t_b, t_speak - t_b + 2.5)
    assert share(b, TONES[0], t_speak - t_b, t_speak - t_b + 2.5) > HEARD, rms(heard_by_bob)
