"""A headless Chromium driven over the Chrome DevTools Protocol, for the page's browser test.

Why not Playwright or Selenium: both pin a browser build of their own (a download this project
cannot make) or a matching driver binary; Debian's ``chromium`` already speaks CDP, and the few
commands used here (``Page.navigate``, ``Runtime.evaluate``, ``Page.captureScreenshot``) have
been stable for years, so the test needs only ``websocket-client`` (60 KB) and works with
whatever Chromium the distribution ships. Every wait happens inside the page, in JavaScript,
with a deadline.
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """Path of an installed Chromium, or ``None``."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one tab; a context manager that always stops the process."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout: float = 60):
        self.executable, self.timeout = executable, timeout
        self.size = (width, height)
        self._ids = 0

    def __enter__(self) -> Browser:
        import websocket

        self._profile = tempfile.TemporaryDirectory(prefix="loopzoo-chromium-")
        self.process = subprocess.Popen(
            [self.executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-extensions", "--remote-debugging-port=0",
             # no network beyond this machine: any other host fails to resolve
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             f"--window-size={self.size[0]},{self.size[1]}", f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = self._port()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                tabs = [t for t in json.load(r) if t.get("type") == "page"]
            self.ws = websocket.create_connection(tabs[0]["webSocketDebuggerUrl"], timeout=self.timeout,
                                                  suppress_origin=True)
        except BaseException:
            self._stop()
            raise
        return self

    def _port(self) -> int:
        marker = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def __exit__(self, *exc: Any) -> None:
        self._stop()

    def _stop(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for _ in range(20):  # Chromium's helper processes can still write the profile after the main one exits
            try:
                shutil.rmtree(self._profile.name)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)
        self._profile.cleanup()

    def send(self, method: str, **params: Any) -> dict:
        """Send one CDP command and return its result (events in between are skipped)."""
        self._ids += 1
        self.ws.send(json.dumps({"id": self._ids, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True,
                           timeout=int(self.timeout * 1000))
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float | None = None) -> Any:
        """Poll the JavaScript expression ``condition`` until it is truthy; return its value."""
        ms = int(1000 * (timeout or self.timeout))
        return self.evaluate(f"""new Promise((resolve, reject) => {{
            const t0 = Date.now();
            const poll = () => {{
                let v; try {{ v = ({condition}); }} catch (e) {{ v = undefined; }}
                if (v) resolve(v);
                else if (Date.now() - t0 > {ms}) reject(new Error("timed out waiting for: " + {json.dumps(condition)}));
                else setTimeout(poll, 100);
            }};
            poll();
        }})""")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def screenshot(self, path: str | Path) -> None:
        """A PNG of the whole page (beyond the window's height)."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": self.size[0], "height": height, "scale": 1})["data"]
        Path(path).write_bytes(base64.b64decode(data))
