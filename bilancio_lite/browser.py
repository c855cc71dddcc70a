"""Reports seen in a real browser: headless Chromium checks each HTML report and can screenshot it.

:func:`check_pages` opens every page in one headless Chromium (Debian's ``chromium``; another
binary with ``BILANCIO_CHROMIUM``) driven over the DevTools protocol, through tornado's websocket
client (already installed with Jupyter). For each page it records:

- **console errors**: ``console.error`` calls, uncaught exceptions and browser log errors (e.g. a
  resource that failed to load, such as a remote script on a closed network);
- **images that do not decode** (``HTMLImageElement.decode()`` rejects, or the image is 0 px wide);
- **horizontal overflow**: the page is wider than the window, or an element hides part of its
  content sideways (``overflow-x: hidden|clip`` with content wider than the box). Content inside a
  horizontal scroller (``overflow-x: auto|scroll``) is reachable and is not an overflow.

Screenshots (full page, PNG) are written when asked. Chromium runs with a fresh profile and the
flags that keep it off the network (:data:`CHROMIUM_FLAGS`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Headless, sandbox-free (root in a container), and nothing that reaches for the network (without
#: these Chromium waits for services on a closed network).
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio")
#: The window width reports are checked at (a laptop screen) and the initial height.
WINDOW = (1280, 900)
#: A full-page screenshot is cut at this height (px) to keep the PNG a readable size.
MAX_SCREENSHOT_HEIGHT = 30000
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")

#: Run in the page after load: image decoding, page and element overflow.
_CHECK_JS = r"""
(async () => {
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.className && typeof el.className === 'string') s += '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.');
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
    return text ? s + ' "' + text + '"' : s;
  };
  const badImages = [];
  const images = [...document.images];
  for (const img of images) {
    try {
      await img.decode();
      if (!img.naturalWidth) badImages.push(img.alt || img.src.slice(0, 60));
    } catch (e) {
      badImages.push(img.alt || img.src.slice(0, 60));
    }
  }
  const doc = document.documentElement;
  const overflow = [];
  const pageWidth = Math.max(doc.scrollWidth, document.body ? document.body.scrollWidth : 0);
  if (pageWidth > doc.clientWidth + 1) overflow.push(`page is ${pageWidth} px wide in a ${doc.clientWidth} px window`);
  const scrolls = (cs) => cs.overflowX === 'auto' || cs.overflowX === 'scroll';
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    if ((cs.overflowX === 'hidden' || cs.overflowX === 'clip') && el.scrollWidth > el.clientWidth + 1)
      overflow.push(`${describe(el)} hides ${el.scrollWidth - el.clientWidth} px of its content`);
    if (cs.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
      overflow.push(`${describe(el)} is cut off with an ellipsis`);
  }
  return {n_images: images.length, bad_images: badImages, overflow: overflow.slice(0, 20),
          width: doc.clientWidth, height: Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0)};
})()
"""


class BrowserError(RuntimeError):
    """Chromium is missing or did not start."""


@dataclass
class PageCheck:
    """What :func:`check_pages` found on one page."""

    path: Path
    console_errors: list[str] = field(default_factory=list)
    n_images: int = 0
    bad_images: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not (self.console_errors or self.bad_images or self.overflow)

    def problems(self) -> list[str]:
        """One line per problem (empty when :attr:`ok`)."""
        return ([f"console: {m}" for m in self.console_errors] + [f"image does not decode: {m}" for m in self.bad_images]
                + [f"overflow: {m}" for m in self.overflow])


def find_chromium() -> str | None:
    """The Chromium binary: ``$BILANCIO_CHROMIUM`` if set, else ``chromium`` (Debian),
    ``chromium-browser`` or ``google-chrome`` on the PATH; None if there is none."""
    env = os.environ.get("BILANCIO_CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def check_pages(paths: list[str | os.PathLike], *, screenshot_dir: str | os.PathLike | None = None,
                window: tuple[int, int] = WINDOW, timeout: float = 120.0) -> list[PageCheck]:
    """Open each HTML file in headless Chromium and check it (console errors, images, overflow);
    with ``screenshot_dir``, save a full-page PNG of each as ``<stem>.png`` there. Raises
    :class:`BrowserError` when Chromium is missing or does not start."""
    binary = find_chromium()
    if binary is None:
        raise BrowserError("Chromium not found: install Debian's `chromium` (apt-get install -y chromium) "
                           "or set BILANCIO_CHROMIUM to a Chromium/Chrome binary")
    shots = Path(screenshot_dir) if screenshot_dir is not None else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bilancio-chromium-", ignore_cleanup_errors=True) as profile:
        # its own session: the browser's helper processes (renderers, GPU, zygote) end with it
        proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 "--remote-debugging-port=0", "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, errors="replace", start_new_session=True)
        try:
            url = _devtools_url(proc, timeout=min(timeout, 60.0))
            return asyncio.run(_check_all(url, [Path(p).resolve() for p in paths], shots, window, timeout))
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """End the browser and its helper processes (its process group), then reap it."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    time.sleep(0.2)  # helpers leave the group a moment after the browser


def _devtools_url(proc: subprocess.Popen, timeout: float) -> str:
    """Read Chromium's stderr until it prints its DevTools address; keep draining it afterwards
    (in a daemon thread) so a chatty browser never blocks on a full pipe."""
    found: list[str] = []
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not found:
                lines.append(line.rstrip())
                m = _LISTENING.search(line)
                if m:
                    found.append(m.group(1))
                    ready.set()
        ready.set()

    threading.Thread(target=read, name="chromium-stderr", daemon=True).start()
    ready.wait(timeout)
    if not found:
        tail = " | ".join(lines[-5:])
        raise BrowserError(f"Chromium did not start within {timeout:.0f} s (exit code {proc.poll()}): {tail}")
    return found[0]


class _DevTools:
    """A minimal DevTools-protocol client over one websocket (flattened sessions)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.next_id = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.events: list[dict[str, Any]] = []
        self.event_seen = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while True:
            raw = await self.conn.read_message()
            if raw is None:  # closed
                for fut in self.pending.values():
                    if not fut.done():
                        fut.set_exception(BrowserError("Chromium closed the DevTools connection"))
                return
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self.pending:
                fut = self.pending.pop(msg["id"])
                if "error" in msg:
                    fut.set_exception(BrowserError(f"DevTools: {msg['error'].get('message', msg['error'])}"))
                else:
                    fut.set_result(msg.get("result", {}))
            elif "method" in msg:
                self.events.append(msg)
                self.event_seen.set()

    async def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
                   timeout: float = 60.0) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.conn.write_message(json.dumps(msg))
        return await asyncio.wait_for(fut, timeout)

    async def wait_event(self, method: str, session: str, timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            for ev in self.events:
                if ev["method"] == method and ev.get("sessionId") == session:
                    return ev
            self.event_seen.clear()
            left = end - loop.time()
            if left <= 0:
                raise BrowserError(f"no {method} within {timeout:.0f} s")
            try:
                await asyncio.wait_for(self.event_seen.wait(), left)
            except asyncio.TimeoutError:
                pass


async def _check_all(url: str, paths: list[Path], shots: Path | None, window: tuple[int, int],
                     timeout: float) -> list[PageCheck]:
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(url, max_message_size=1 << 30)
    cdp = _DevTools(conn)
    try:
        return [await _check_one(cdp, p, shots, window, timeout) for p in paths]
    finally:
        cdp.reader.cancel()
        conn.close()


def _console_errors(events: list[dict[str, Any]], session: str) -> list[str]:
    out = []
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        p = ev.get("params", {})
        if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif ev["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append(f"{e.get('text', '')} {e.get('url', '')}".strip())
    return out


async def _check_one(cdp: _DevTools, path: Path, shots: Path | None, window: tuple[int, int],
                     timeout: float) -> PageCheck:
    target = (await cdp.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
    session = (await cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Log"):
            await cdp.send(f"{domain}.enable", session=session)
        metrics = {"width": window[0], "height": window[1], "deviceScaleFactor": 1, "mobile": False}
        await cdp.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
        await cdp.send("Page.navigate", {"url": path.as_uri()}, session=session)
        await cdp.wait_event("Page.loadEventFired", session, timeout)
        res = await cdp.send("Runtime.evaluate", {"expression": _CHECK_JS, "awaitPromise": True,
                                                  "returnByValue": True}, session=session, timeout=timeout)
        if "exceptionDetails" in res:
            raise BrowserError(f"{path.name}: the page check failed: {res['exceptionDetails'].get('text')}")
        found = res["result"]["value"]
        check = PageCheck(path=path, n_images=found["n_images"], bad_images=found["bad_images"],
                          overflow=found["overflow"])
        if shots is not None:
            height = max(window[1], min(int(found["height"]), MAX_SCREENSHOT_HEIGHT))
            await cdp.send("Emulation.setDeviceMetricsOverride", {**metrics, "height": height}, session=session)
            shot = await cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False},
                                  session=session, timeout=timeout)
            check.screenshot = shots / f"{path.stem}.png"
            check.screenshot.write_bytes(base64.b64decode(shot["data"]))
        check.console_errors = _console_errors(cdp.events, session)
        return check
    finally:
        await cdp.send("Target.closeTarget", {"targetId": target})
        cdp.events = [ev for ev in cdp.events if ev.get("sessionId") != session]
