"""Real-browser smoke test: ``streamlit run app.py`` + Debian Chromium (Playwright), fully offline.

Every request that does not go to the local server is aborted and recorded, so a map that needed a CDN
would stay blank and the test would fail. Checks: every page draws without an exception box; the Data
page's map iframe runs Leaflet (a ``.leaflet-container`` with a height, image overlays present); a bad
upload shows an error naming the file and keeps the loaded cube. Screenshots go to ``tests/screenshots/``;
the time each page takes to draw when switching pages is printed (``pytest -s``), not asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from browser_helpers import (CHROMIUM, CHROMIUM_ARGS, REPO, StreamlitServer, leaflet_state, report, screenshot,
                             wait_idle)

SHOTS = REPO / "tests" / "screenshots"
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
        wait_idle(page, timeout_ms=90_000)
        report(f"first load of the Data page on the demo scene (server already up): {time.perf_counter() - start:.2f} s")
        yield page
        browser.close()


def _keep_only_cnn(page, picker) -> None:
    """Remove the MCNN-Seq and RNN tags from a model multiselect."""
    for name in ("MCNN-Seq", "RNN"):
        button = picker.get_by_role("button", name=f"Remove {name}")
        if button.count():
            button.click()
            wait_idle(page)


def _no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"{where}: exception shown: {boxes.first.inner_text()[:500]}"


def _go(page, title: str) -> float:
    """Click ``title`` in the navigation; seconds until its page has drawn (its h1, nothing running)."""
    start = time.perf_counter()
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    page.wait_for_function(
        "t => { const h = document.querySelector('[data-testid=\"stMain\"] h1');"
        " return h !== null && h.innerText.trim() === t; }", arg=PAGES[title], timeout=60_000, polling=50)
    wait_idle(page, timeout_ms=180_000)  # a first visit may wait for whole-scene predictions on a busy CPU
    return time.perf_counter() - start


def test_data_page_map_renders_offline(browser_page, server):
    page = browser_page
    assert page.locator("h1", has_text="Data").count() == 1
    _no_exception(page, "Data")
    assert page.get_by_text("SIMULATED").count() > 0
    info = leaflet_state(page)
    page.wait_for_timeout(500)
    screenshot(page, SHOTS / "data.png")
    assert info["container_height"] > 100, info
    assert info["image_layers"] >= 2, info  # NDVI and the cloud mask
    assert info["scale"].endswith(" m"), info  # fitted to the 2 km scene
    # a click on the map selects the pixel under it
    frame = page.locator('iframe[title="streamlit_folium.st_folium"]').first.content_frame
    box = frame.locator(".leaflet-container").bounding_box()
    frame.locator(".leaflet-container").click(position={"x": box["width"] / 2 + 60, "y": box["height"] / 2 + 40})
    column = page.get_by_role("spinbutton", name="Column")
    page.wait_for_function("el => el.value !== '100'", arg=column.element_handle(), timeout=30_000)
    wait_idle(page)
    row = int(page.get_by_role("spinbutton", name="Row").input_value())
    col = int(column.input_value())
    assert col > 100 and row > 100, (row, col)  # east and south of the centre pixel
    assert page.get_by_text(f"Pixel row {row}, column {col}").count() == 1
    assert page.external_requests == [], f"requests that needed the internet: {page.external_requests}"


def test_every_page_draws_and_switch_times(browser_page):
    """The app as it opens: the demo scene with the three shipped models (RNN, CNN, MCNN-Seq) on every page."""
    page = browser_page
    for round_ in ("first visit", "again"):
        timings = {}
        for title in list(PAGES)[1:] + ["Data"]:
            timings[title] = _go(page, title)
            _no_exception(page, title)
            if round_ == "first visit":
                screenshot(page, SHOTS / f"{title.lower()}.png")
        report(f"shipped models, page switch -> drawn (s), {round_}: "
               + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    assert page.get_by_text("3 trained model(s) on this dataset: RNN, CNN, MCNN-Seq").count() == 1
    assert page.external_requests == []


def test_train_in_the_browser_then_every_page_with_models(browser_page):
    """The CNN, quick preset cut to 50 steps, on the default demo; then the model pages, the Map page's map included."""
    page = browser_page
    _go(page, "Train")
    # show only the CNN on every page (and train only it): its scene prediction takes seconds on a CPU
    _keep_only_cnn(page, page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first)
    _keep_only_cnn(page, page.locator('[data-testid="stMain"] [data-testid="stMultiSelect"]').first)
    page.get_by_text("Hyper-parameters").click()
    steps = page.get_by_role("spinbutton", name="Optimiser steps (at most)")
    steps.fill("50")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=30_000)  # the live progress bar
    screenshot(page, SHOTS / "train_running.png")
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="Trained").wait_for(timeout=240_000)
    wait_idle(page)
    _no_exception(page, "Train after training")
    screenshot(page, SHOTS / "train_done.png")
    timings = []
    for title in ["Dates", "Crops", "Map", "Export", "Data", "Map"]:
        timings.append((title, _go(page, title)))  # the first visit after training predicts the whole scene
        _no_exception(page, title)
        if title == "Map":
            screenshot(page, SHOTS / "map_side_by_side.png")
            page.get_by_text("On the map (click a pixel)").click()
            wait_idle(page)
            info = leaflet_state(page)
            assert info["container_height"] > 100 and info["image_layers"] >= 1 and info["scale"].endswith(" m"), info
        if title == "Export":  # deferred downloads: the file is written when the button is clicked
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="Per-date R² / RMSE (Table 4 form)").click()
            text = Path(dl.value.path()).read_text()
            assert text.splitlines()[0].startswith("date,CNN_r2,CNN_rmse") and len(text.splitlines()) == 33
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="CNN model (.pt)").click()
            from mcnnseq.checkpoints import load_checkpoint

            assert load_checkpoint(dl.value.path()).name == "CNN"
        screenshot(page, SHOTS / f"{title.lower()}_with_models.png")
    report("with a trained model, page switch -> drawn (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings))
    assert page.external_requests == []


def test_bad_upload_shows_error_and_keeps_data(browser_page, tmp_path):
    page = browser_page
    if page.locator("h1").first.inner_text().strip() != "Data":
        _go(page, "Data")
    before = page.locator('[data-testid="stSidebarUserContent"]').inner_text()
    bad = tmp_path / "broken_cube.nc"
    bad.write_bytes(b"this is not a NetCDF file\n" * 20)
    page.get_by_text("Load data: demo scene or your own cube").click()
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
    # the demo cube is still the one shown, summary and map included
    assert page.locator('[data-testid="stSidebarUserContent"]').inner_text() == before
    assert page.get_by_text("SIMULATED").count() > 0
    assert leaflet_state(page)["image_layers"] >= 2
