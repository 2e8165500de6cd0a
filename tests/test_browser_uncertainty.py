"""Real-browser test of issue 8's app side: quick MCNN-Seq and MCNN-Seq fusion runs (the Train page's default models
but the CNN and RNN) on a 40 x 40 demo scene, then the Map's σ panels,
the pixel series with its flags and ±2σ band, and the attention heatmap beside it — drawn without an exception
and screenshotted (``tests/screenshots/uncertainty_*.png``). Fully offline, like ``test_browser.py``.
"""

from __future__ import annotations

from browser_helpers import screenshot, wait_idle
from test_browser import SHOTS, _go, _no_exception, browser_page, server  # noqa: F401  (fixtures)


def test_sigma_map_and_attention_heatmap_are_drawn(browser_page):
    page = browser_page
    _go(page, "Data")
    wait_idle(page)
    expander = page.locator('[data-testid="stExpander"] details').first
    size = page.get_by_role("spinbutton", name="Size (pixels per side, 10 m each)")
    for _ in range(3):       # a click that lands while the page redraws can be lost: open it until it is open
        if expander.get_attribute("open") is None:
            page.get_by_text("Load data: demo scene or your own cube").click()
        try:
            size.wait_for(timeout=20_000)
            break
        except Exception:  # noqa: BLE001  (playwright's TimeoutError: try the click again)
            wait_idle(page)
    size.fill("40")
    size.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Simulate the demo scene").click()
    wait_idle(page, timeout_ms=180_000)
    _no_exception(page, "Data, 40 x 40 demo")
    _go(page, "Train")
    models = page.locator('[data-testid="stMain"] [data-testid="stMultiSelect"]').first
    for name in ("CNN", "RNN"):
        button = models.get_by_role("button", name=f"Remove {name}")
        if button.count():
            button.click()
            wait_idle(page)
    page.get_by_text("Hyper-parameters").click()
    steps = page.get_by_role("spinbutton", name="Optimiser steps (at most)", exact=True)
    steps.fill("60")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator('[data-testid="stAlertContentSuccess"]', has_text="new runs").wait_for(timeout=480_000)
    wait_idle(page)
    _no_exception(page, "Train after training")
    _go(page, "Map")
    _no_exception(page, "Map, grid")
    assert page.get_by_text("σ (uncertainty)").count() >= 1
    screenshot(page, SHOTS / "uncertainty_sigma_map.png")
    page.get_by_text("On the map (click a pixel)").click()
    wait_idle(page, timeout_ms=180_000)
    _no_exception(page, "Map, pixel")
    heat = page.locator('[class*="st-key-map_attention_chart"]')
    heat.wait_for(timeout=60_000)
    heat.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    assert page.locator('[class*="st-key-map_attention_chart"] .heatmaplayer, '
                        '[class*="st-key-map_attention_chart"] .hm').count() >= 1
    legend = page.locator('[class*="st-key-map_pixel_chart"] .legendtext').evaluate_all(
        "els => els.map(e => e.textContent || '')")
    assert any("±2σ" in t for t in legend) and any("cloud-filled" in t for t in legend), legend
    screenshot(page, SHOTS / "uncertainty_attention.png")
