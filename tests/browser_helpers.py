"""Helpers for the real-browser smoke test: a Streamlit server subprocess and Debian's Chromium.

The server is started with ``streamlit run app.py`` on a free local port and stopped by its own PID.
The browser is the system Chromium driven by Playwright (no ``playwright install``: no download).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
#: Measurements the browser test reports (printed in pytest's terminal summary, not asserted).
MEASUREMENTS: list[str] = []


def report(line: str) -> None:
    """Print ``line`` now (visible with ``-s``) and again in the terminal summary of every run."""
    print("\n" + line)
    MEASUREMENTS.append(line)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """``streamlit run app.py`` in a subprocess; use as a context manager."""

    def __init__(self, *, log_path: Path, env: dict | None = None, startup_timeout: float = 60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "MCNNSEQ_WARM_UP": "1", **(env or {})}
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "StreamlitServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.headless", "true", "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"streamlit did not answer on {self.url} within {self.startup_timeout} s: {self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its PID
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_idle(page, *, timeout_ms: int = 60_000) -> None:
    """Wait until the app's script run has finished and its elements are drawn (no stale or skeleton ones)."""
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
            return !document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]')
                && document.querySelector('[data-testid="stMain"] h1') !== null;
        }""",
        timeout=timeout_ms, polling=50)


def leaflet_state(page, *, index: int = 0, timeout_ms: int = 30_000) -> dict:
    """Inside the ``index``-th st_folium iframe: the Leaflet container's height, the overlay count and the
    metric scale bar's text (e.g. ``"300 m"``: the map is zoomed to the scene, not to the world)."""
    frame_el = page.locator('iframe[title="streamlit_folium.st_folium"]').nth(index)
    frame_el.wait_for(state="attached", timeout=timeout_ms)
    frame = frame_el.content_frame
    frame.locator(".leaflet-container").wait_for(state="attached", timeout=timeout_ms)
    frame.locator("img.leaflet-image-layer").first.wait_for(state="attached", timeout=timeout_ms)
    box = frame.locator(".leaflet-container").bounding_box()
    scale = frame.locator(".leaflet-control-scale-line").first
    return {"container_height": box["height"] if box else 0.0,
            "scale": scale.inner_text() if scale.count() else "",
            "image_layers": frame.locator("img.leaflet-image-layer").count(),
            "iframe_height": (frame_el.bounding_box() or {"height": 0.0})["height"]}


def screenshot(page, path: Path) -> None:
    """What the (tall) viewport shows; Streamlit scrolls inside its main block, so full_page adds nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
