"""The operator console (/console) in a real headless Chromium (Debian's, driven by
Playwright) with real baresip phones: a caller appears within 2 s; the mute button stops
the others hearing it (FFT); record start/stop leaves a playable recording link; the kick
button sends the phone a BYE and its row goes. A screenshot is kept as an artifact."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_participant_control import dial, share
from tests.support.audio import ABSENT, HEARD
from tests.support.controller import Controller
from tests.support.room import phones
from tests.support.runtime import PROJECT, Runtime

TONES = [440.0, 1150.0, 1600.0]
CHROMIUM = Path(os.environ.get("CONFSVC_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("CONFSVC_TEST_ARTIFACTS", PROJECT / ".runtime" / "artifacts"))


def chromium() -> str:
    """The browser, or the test FAILS (no skip): scripts/browser installs it."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/browser (make test does)", pytrace=False)
    return str(CHROMIUM)


@asynccontextmanager
async def console_page(url: str) -> AsyncIterator[tuple[Page, list[str]]]:
    """The page open in Chromium; the list collects the page's script errors. The page's
    Content-Security-Policy stays on (no eval): the test waits with locators only."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium(), headless=True, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(url)
            yield page, errors
        finally:
            await browser.close()


def row(account: str) -> str:
    return f'tr[data-caller*="{account}"]'


async def test_console_shows_callers_live_and_its_buttons_act(
    runtime: Runtime, controller: Controller
) -> None:
    url = f"{controller.base}/console#token=tenant-a-token"
    async with console_page(url) as (page, errors):
        await page.wait_for_selector("#link.up", timeout=5000)
        await page.fill("#room", "console_room")
        await page.click("#create-room")
        card = await page.wait_for_selector('section[data-room="console_room"]', timeout=3000)
        conf_id = await card.get_attribute("data-conference")
        conf = await controller.request("GET", f"/v1/conferences/{conf_id}", expect=200)
        assert conf["room"] == "console_room" and conf["floor_events"] is True
        async with phones(runtime, TONES, "console") as (a, b, c):
            t_a = await dial(a, "console_room")
            await page.wait_for_selector(row("alice"), timeout=2000)  # within 2 s
            assert time.monotonic() - t_a < 2.0
            await dial(b, "console_room")
            await dial(c, "console_room")
            joined = page.locator('tr[data-call] td.status:text-is("joined")')
            await expect(joined).to_have_count(3, timeout=5000)
            # The room was made with the talk dots on (floor_events): the phones' tones
            # show as talking.
            await expect(page.locator("tr[data-call].talking")).not_to_have_count(0, timeout=5000)
            await asyncio.sleep(1.0)
            t_mute = time.monotonic()
            await page.click(f"{row('bob')} button.mute")
            await page.wait_for_selector(f'{row("bob")} td.muted:text("muted")', timeout=2000)
            await asyncio.sleep(2.0)
            t_muted_end = time.monotonic()
            # Recording from the page: start, stop, then a link to play the file.
            await page.click("button.record-start")
            await page.wait_for_selector(".badge.rec", timeout=5000)
            await asyncio.sleep(1.0)
            await page.click("button.record-stop")
            await page.wait_for_selector("a.recording", timeout=15000)
            await page.click("a.recording")
            audio = page.locator(".recordings audio")
            await expect(audio).to_have_attribute("src", re.compile("^blob:"), timeout=5000)
            await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
            # Kick carol: her phone gets a BYE, her row goes.
            await page.click(f"{row('carol')} button.kick")
            await c.wait_event("CALL_CLOSED", timeout=5)
            await page.wait_for_selector(row("carol"), state="detached", timeout=3000)
            await hang_up_all([a, b])
        await page.wait_for_selector("tr[data-call]", state="detached", timeout=5000)
        assert errors == []
    before = share(a, TONES[1], t_mute - t_a - 1.0, t_mute - t_a)
    during = share(a, TONES[1], t_mute - t_a + 0.5, t_muted_end - t_a)
    assert before > HEARD, f"alice did not hear bob before the mute ({before:.3f})"
    assert during < ABSENT, f"alice heard bob after the mute button ({during:.3f})"
    assert share(a, TONES[2], t_mute - t_a + 0.5, t_muted_end - t_a) > HEARD  # carol still
