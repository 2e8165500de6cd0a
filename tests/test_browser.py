"""Real-browser test: ``streamlit run app.py`` + Debian Chromium (Playwright), fully offline.

Every request that does not go to the local server is aborted and recorded, so a map that needed a CDN
would stay blank and the test would fail. Checks: every page draws without an exception box; the maps
run Leaflet with the true-colour base layer, the pointer's coordinates and a collapsed layer control; a
quick CNN run shows beside the shipped CNN; the shared real cube loads through the upload widget with its
decoding options, trains, and shows its own true colour under the predictions; a bad upload shows an
error naming the file and keeps the loaded cube. Screenshots go to ``tests/screenshots/``; the time each
page takes to draw, first visit and revisit, is printed in the test summary, not asserted.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from browser_helpers import (CHROMIUM, CHROMIUM_ARGS, REPO, StreamlitServer, leaflet_state, report, screenshot,
                             wait_idle)

SHOTS = REPO / "tests" / "screenshots"
REAL_CUBE = REPO.parent / "shared" / "data" / "worldcereal_belgium_2021" / "worldcereal_preprocessed_inputs.nc"
#: navigation title -> the page's h1
PAGES = {"Data": "Data", "Train": "Train", "Dates": "Accuracy per date", "Crops": "Crop profiles", "Map": "Maps",
         "Export": "Export"}


@pytest.fixture(scope="module")
def server():
    with StreamlitServer(log_path=SHOTS / "streamlit.log") as srv:
        yield srv


@pytest.fixture(scope="module")
def browser_page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        external: list[str] = []

        def offline(route):
            url = route.request.url
            if url.startswith(server.url) or url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                external.append(url)
                route.abort()

        page.context.route("**/*", offline)
        page.external_requests = external
        start = time.perf_counter()
        page.goto(server.url, wait_until="domcontentloaded")
        wait_idle(page, timeout_ms=180_000)
        report(f"first load of the Data page on the demo scene (server already up): {time.perf_counter() - start:.2f} s")
        yield page
        browser.close()


def _no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: exception shown: {boxes.first.inner_text()[:500]}"


def _go(page, title: str) -> float:
    """Click ``title`` in the navigation; seconds until its page has drawn (its h1, nothing running)."""
    start = time.perf_counter()
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    try:
        page.wait_for_function(
            "t => { const h = document.querySelector('[data-testid=\"stMain\"] h1');"
            " return h !== null && h.innerText.trim() === t; }", arg=PAGES[title], timeout=60_000, polling=50)
        wait_idle(page, timeout_ms=480_000)  # a first visit may wait for whole-scene predictions on a busy CPU
    except Exception:
        screenshot(page, SHOTS / f"timeout_{title.lower()}.png")
        print("page state at the timeout:", page.evaluate(_STATE))
        raise
    return time.perf_counter() - start


_STATE = """() => { const app = document.querySelector('[data-testid="stApp"]');
  const stale = [...document.querySelectorAll('[data-stale="true"]')].map(e => e.innerText.slice(0, 80));
  return {script: app.getAttribute('data-test-script-state'), stale: stale,
          skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
          h1: (document.querySelector('[data-testid="stMain"] h1') || {}).innerText,
          progress: [...document.querySelectorAll('[data-testid="stProgress"]')].map(e => e.innerText)}; }"""


def _visit_all(page, label: str, *, shots: str | None = None) -> None:
    """Every page, twice (first visit, revisit); report the times."""
    for round_ in ("first visit", "revisit"):
        timings = {}
        for title in list(PAGES)[1:] + ["Data"]:
            timings[title] = _go(page, title)
            _no_exception(page, f"{label}, {title}")
            if shots and round_ == "first visit":
                screenshot(page, SHOTS / f"{shots}{title.lower()}.png")
        report(f"{label}, page switch -> drawn (s), {round_}: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))


def _untick(page, names: list[str]) -> None:
    """Remove runs from the sidebar's "Runs compared" multiselect."""
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    for name in names:
        button = picker.get_by_role("button", name=f"Remove {name}")
        if button.count():
            button.click()
            wait_idle(page)


def _legend(page, key: str) -> list[str]:
    """The legend entries of the plotly chart whose element key is ``key``."""
    chart = page.locator(f'[class*="st-key-{key}"] .legendtext')
    return [t.strip() for t in chart.evaluate_all("els => els.map(e => e.textContent || '')")]


def _train_quick_cnn(page, *, check_bars: bool = True) -> None:
    """On the Train page: the CNN alone, quick preset cut to 150 steps; wait for it; check the sidebar's progress
    (``check_bars``; off where the run can end before the first redraw, e.g. the 100 x 100 real cube)."""
    _go(page, "Train")
    models = page.locator('[data-testid="stMain"] [data-testid="stMultiSelect"]').first
    for name in ("MCNN-Seq fusion", "MCNN-Seq", "RNN"):
        button = models.get_by_role("button", name=f"Remove {name}", exact=True)
        if button.count():
            button.click()
            wait_idle(page)
    page.get_by_text("Hyper-parameters").click()
    steps = page.get_by_role("spinbutton", name="Optimiser steps (at most)", exact=True)
    steps.fill("150")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    if check_bars:
        main_bar = page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first
        side_bar = page.locator('[data-testid="stSidebar"] [data-testid="stProgress"]').first
        main_bar.wait_for(timeout=30_000)
        side_bar.wait_for(timeout=30_000)
        screenshot(page, SHOTS / "train_running.png")
        texts = (main_bar.inner_text(), side_bar.inner_text())
        pct = [int(m.group(1)) for m in (re.search(r"(\d+) %", t) for t in texts) if m]
        assert all(t.startswith("Training CNN") for t in texts), texts
        assert len(pct) == 2 and abs(pct[0] - pct[1]) <= 25, texts  # one job, one text, refreshed every second
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="new runs").wait_for(timeout=300_000)
    wait_idle(page)
    _no_exception(page, "Train after training")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process ``pid`` has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_first_map_visit_after_the_demo_opens():
    """Issue 9 item 5: a fresh server, the demo opens on the Data page, then Map: the time until Map has drawn
    (whole-scene predictions of the four shipped models, served from the signed files in assets/predictions
    when they match the models; a stale file means predicting behind a progress bar). Printed, not asserted
    (a busy CPU decides it); the lead reruns it on a quiet machine. Its own server, so no other test warmed it."""
    from playwright.sync_api import sync_playwright

    with StreamlitServer(log_path=SHOTS / "streamlit_first_map.log") as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                (srv.url, "data:", "blob:", "about:")) else route.abort())
            start = time.perf_counter()
            page.goto(srv.url, wait_until="domcontentloaded")
            wait_idle(page, timeout_ms=180_000)
            opened = time.perf_counter() - start
            cpu = _cpu_seconds(srv.proc.pid)
            seconds = _go(page, "Map")
            cpu = _cpu_seconds(srv.proc.pid) - cpu
            _no_exception(page, "Map, first visit")
            assert page.locator('[data-testid="stMain"] .js-plotly-plot').count() >= 1  # the side-by-side grid
            text = page.locator('[data-testid="stMain"]').inner_text()
            assert all(f"{m} · shipped" in text for m in ("MCNN-Seq", "CNN", "RNN")), text[:500]
            screenshot(page, SHOTS / "first_map_visit.png")
            report(f"first Map visit after the demo opens (fresh server; Data page drawn in {opened:.2f} s): "
                   f"{seconds:.2f} s; the server used {cpu:.2f} CPU s meanwhile (its background warm-up included); "
                   f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        finally:
            browser.close()


def test_data_page_map_renders_offline(browser_page, server):
    page = browser_page
    assert page.locator("h1", has_text="Data").count() == 1
    _no_exception(page, "Data")
    assert page.get_by_text("SIMULATED").count() > 0
    info = leaflet_state(page)
    page.wait_for_timeout(500)
    screenshot(page, SHOTS / "data.png")
    assert info["container_height"] > 100, info
    assert info["image_layers"] >= 3, info  # the true colour, the NDVI and the cloud mask
    assert info["scale"].endswith(" m"), info  # fitted to the 2 km scene
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first.content_frame
    layers = frame.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in (layers.get_attribute("class") or "")  # collapsed
    assert "simulated true colour" in frame.locator(".leaflet-control-layers-overlays").inner_text(), "base layer"
    box = frame.locator(".leaflet-container").bounding_box()
    frame.locator(".leaflet-container").hover(position={"x": box["width"] / 2, "y": box["height"] / 2})
    pointer = frame.locator(".leaflet-control-mouseposition")
    pointer.wait_for(timeout=10_000)
    page.wait_for_function("el => /\\d+\\.\\d+°/.test(el.innerText)", arg=pointer.element_handle(), timeout=10_000)
    assert re.search(r"3\d\.\d+°, -11\d\.\d+°", pointer.inner_text()), pointer.inner_text()  # Imperial Valley
    # a click on the map selects the pixel under it
    frame.locator(".leaflet-container").click(position={"x": box["width"] / 2 + 60, "y": box["height"] / 2 + 40})
    page.wait_for_function("() => [...document.querySelectorAll('input[aria-label=\"Column\"]')]"
                           ".some(e => e.value !== '100')", timeout=120_000)
    wait_idle(page)
    row = int(page.get_by_role("spinbutton", name="Row").input_value())
    col = int(page.get_by_role("spinbutton", name="Column").input_value())
    assert col > 100 and row > 100, (row, col)  # east and south of the centre pixel
    assert page.get_by_text(f"Pixel row {row}, column {col}").count() == 1
    assert page.external_requests == [], f"requests that needed the internet: {page.external_requests}"


def test_every_page_draws_and_switch_times(browser_page):
    """The app as it opens: the demo scene with the shipped models (MCNN-Seq, CNN, RNN, MCNN-Seq fusion) on every
    page; Dates scores the fusion from its shipped held-out predictions (assets/predictions/*_scores.nc)."""
    page = browser_page
    _visit_all(page, "demo, four shipped models", shots="demo_")
    side = page.locator('[data-testid="stSidebar"]').inner_text()
    assert all(f"{m} · shipped" in side for m in ("MCNN-Seq", "CNN", "RNN", "MCNN-Seq fusion")), side
    assert page.external_requests == []


def test_a_quick_run_beside_the_shipped_run(browser_page):
    """The CNN, quick preset cut to 150 steps, on the default demo, compared with the shipped CNN on every page."""
    page = browser_page
    _go(page, "Data")
    # their scene predictions (and fusion's leave-one-date-out scoring) take a while on a CPU
    _untick(page, ["MCNN-Seq · shipped", "RNN · shipped", "MCNN-Seq fusion · shipped"])
    _train_quick_cnn(page)
    screenshot(page, SHOTS / "train_done.png")
    timings = []
    for title in ["Dates", "Crops", "Map", "Export", "Data", "Map"]:
        timings.append((title, _go(page, title)))
        _no_exception(page, title)
        if title == "Dates":
            assert {"CNN · shipped", "CNN · quick"} <= set(_legend(page, "dates_chart")), _legend(page, "dates_chart")
        if title == "Map":
            screenshot(page, SHOTS / "map_side_by_side.png")
            page.get_by_text("On the map (click a pixel)").click()
            wait_idle(page)
            info = leaflet_state(page)
            assert info["container_height"] > 100 and info["image_layers"] >= 2 and info["scale"].endswith(" m"), info
        if title == "Export":  # deferred downloads: the file is written when the button is clicked
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="Per-date R² / RMSE (Table 4 form)").click()
            text = Path(dl.value.path()).read_text()
            assert text.splitlines()[0].startswith("date,CNN · shipped_r2") and len(text.splitlines()) == 33
            assert dl.value.suggested_filename == "demo_200x200_seed0_50_metrics_per_date.csv"
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="CNN · quick model (.pt)").click()
            from mcnnseq.checkpoints import load_checkpoint

            assert load_checkpoint(dl.value.path()).name == "CNN"
        screenshot(page, SHOTS / f"{title.lower()}_with_models.png")
    report("demo, shipped CNN + quick CNN, page switch -> drawn (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings))
    assert page.external_requests == []


def test_real_cube_upload_train_and_true_colour(browser_page):
    """The shared Belgian cube through the upload widget (no-data code, log-encoded DN), a quick CNN, every page."""
    page = browser_page
    _go(page, "Data")
    page.get_by_text("Load data: demo scene or your own cube").click()
    page.get_by_role("tab", name="NetCDF cube").click()
    panel = page.locator('[data-testid="stTabPanel"]:visible')
    panel.locator('input[type="file"]').set_input_files(str(REAL_CUBE))
    page.wait_for_timeout(500)
    wait_idle(page)
    panel.get_by_text("Decoding options (e.g. for an openEO export)").click()
    panel.get_by_text("Values equal to a no-data code are missing").click()
    wait_idle(page)
    panel.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=re.compile("log-encoded DN")).click()
    wait_idle(page)
    start = time.perf_counter()
    panel.get_by_role("button", name="Load this cube").click()
    page.locator('[data-testid="stAlertContentSuccess"]', has_text=f"Loaded {REAL_CUBE.name}").wait_for(timeout=60_000)
    wait_idle(page)
    report(f"real cube: upload decoded and shown in {time.perf_counter() - start:.2f} s")
    _no_exception(page, "real cube, Data")
    assert page.get_by_text("100 x 100 px").count() >= 1
    info = leaflet_state(page)
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first.content_frame
    assert "true colour (Sentinel-2 B04, B03, B02)" in frame.locator(".leaflet-control-layers-overlays").inner_text()
    assert info["image_layers"] >= 3, info
    screenshot(page, SHOTS / "real_data.png")
    _train_quick_cnn(page, check_bars=False)  # the demo run checks the bars; a short run here can end before a redraw
    _visit_all(page, "real cube, quick CNN", shots="real_")
    _go(page, "Map")
    page.get_by_text("On the map (click a pixel)").click()
    wait_idle(page)
    info = leaflet_state(page)
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first.content_frame
    overlays = frame.locator(".leaflet-control-layers-overlays").inner_text()
    assert "true colour (Sentinel-2 B04, B03, B02)" in overlays and "CNN · quick prediction" in overlays, overlays
    assert info["container_height"] > 100 and info["image_layers"] >= 2, info
    screenshot(page, SHOTS / "real_map.png")
    assert page.external_requests == []


def test_bad_upload_shows_error_and_keeps_data(browser_page, tmp_path):
    page = browser_page
    if page.locator("h1").first.inner_text().strip() != "Data":
        _go(page, "Data")
    before = page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    bad = tmp_path / "broken_cube.nc"
    bad.write_bytes(b"this is not a NetCDF file\n" * 20)
    expander = page.get_by_text("Load data: demo scene or your own cube")
    if not page.get_by_role("tab", name="NetCDF cube").is_visible():
        expander.click()
    page.get_by_role("tab", name="NetCDF cube").click()
    panel = page.locator('[data-testid="stTabPanel"]:visible')
    panel.locator('input[type="file"]').set_input_files(str(bad))
    page.wait_for_timeout(500)
    wait_idle(page)
    panel.get_by_role("button", name="Load this cube").click()
    error = page.locator('[data-testid="stAlertContentError"]', has_text="broken_cube.nc")
    error.wait_for(timeout=30_000)
    wait_idle(page)
    screenshot(page, SHOTS / "bad_upload.png")
    _no_exception(page, "bad upload")
    assert "kept" in error.inner_text()
    # the cube shown before is still the one shown, summary and map included
    assert page.locator('[data-testid="stSidebarUserContent"]').inner_text() == before
    assert leaflet_state(page)["image_layers"] >= 3


def test_parcel_table_upload_draws_points(browser_page, tmp_path):
    """A long-form CSV of 300 parcels through the table tab: the Data page maps the points (no raster), offline."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tables", REPO / "tests" / "data" / "make_tables.py")
    make_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_tables)
    table = tmp_path / "parcels.csv"
    make_tables.parcel_table(300, seed=3).to_csv(table, index=False)
    page = browser_page
    if page.locator("h1").first.inner_text().strip() != "Data":
        _go(page, "Data")
    expander = page.locator('[data-testid="stExpander"] details').first
    if expander.get_attribute("open") is None:
        page.get_by_text("Load data: demo scene or your own cube").click()
    page.get_by_role("tab", name="Parcel / point table").click()
    panel = page.locator('[data-testid="stTabPanel"]:visible')
    panel.locator('input[type="file"]').set_input_files(str(table))
    page.wait_for_timeout(500)
    wait_idle(page)
    panel.get_by_role("button", name="Load this table").click()
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="Loaded parcels.csv: 300 points").wait_for(
        timeout=60_000)
    wait_idle(page)
    _no_exception(page, "table, Data")
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first.content_frame
    frame.locator(".leaflet-container").wait_for(state="attached", timeout=30_000)
    markers = frame.locator("path.leaflet-interactive")
    deadline = time.monotonic() + 30
    while markers.count() < 300 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert markers.count() >= 300 and frame.locator("img.leaflet-image-layer").count() == 0  # points, no raster
    screenshot(page, SHOTS / "table_data.png")
    assert page.external_requests == []
