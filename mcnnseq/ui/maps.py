"""Offline folium maps for the dashboard: Leaflet served by our own Streamlit server, rasters as overlays.

Why this works offline: folium's ``Map`` lists Leaflet, jQuery, Bootstrap and Awesome-Markers on CDNs
(``default_js``/``default_css``); streamlit-folium collects those URLs and its component iframe loads
them with ``<script src>`` one after another — one failed download and the map is never drawn (a blank
0 px iframe). :class:`OfflineMap` lists only Leaflet (nothing else is needed for image overlays, a layer
control and clicks), pointing at the Leaflet 1.9 dist files of the PyPI package
``django-js-lib-leaflet`` (BSD-2, the unmodified upstream build, no dependencies; we never import
Django). Streamlit serves those files because we declare the folder as a (never rendered) Streamlit
component, which makes the server answer ``<base>/component/<name>/<file>`` — the mechanism every
component uses for its own assets, so it needs no ``static/`` copy in the repo, no write at run time and
no ``server.enableStaticServing``. The URLs are relative to streamlit-folium's iframe
(``<base>/component/streamlit_folium.st_folium/index.html``), so they also work under a
``server.baseUrlPath``. No tile layer by default: the pages lay the cube's own true colour
(:mod:`mcnnseq.ui.truecolor`) under the rasters instead. The pointer's coordinates come from folium's
MousePosition plugin, whose script (Leaflet.MousePosition, MIT, in ``assets/ui/leaflet-plugins``) is
served the same way. The layer control starts collapsed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import folium
import folium.plugins
import numpy as np
import streamlit as st
import streamlit.components.v1 as components
import streamlit_folium

from mcnnseq.ui.raster import (
    DEFAULT_RANGES,
    GridGeometry,
    PointPlaces,
    hex_colors,
    colorize,
    latlon_to_pixel,
    legend_css_gradient,
    mask_rgba,
    mercator_warp,
    pixel_to_latlon,
    png_data_url,
)

_ASSET_COMPONENT = "leaflet_assets"
_PLUGIN_COMPONENT = "leaflet_plugins"
#: Leaflet plugins we serve ourselves: Leaflet.MousePosition 1.2.0 (MIT, Ardhi Lukianto; the npm package
#: ``leaflet-mouse-position``, unmodified), which folium's MousePosition plugin drives.
PLUGIN_DIR = Path(__file__).resolve().parents[2] / "assets" / "ui" / "leaflet-plugins"


def leaflet_dir() -> str:
    """Folder holding ``leaflet.js``, ``leaflet.css`` and ``images/`` (Leaflet 1.9.x dist)."""
    return str(resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet")


def _asset_base_url() -> str:
    """Declare the Leaflet folder as a component (idempotent) and return its URL relative to the map iframe."""
    declared = components.declare_component(_ASSET_COMPONENT, path=leaflet_dir())
    return f"../{declared.name}/"


def _plugin_base_url() -> str:
    declared = components.declare_component(_PLUGIN_COMPONENT, path=str(PLUGIN_DIR))
    return f"../{declared.name}/"


class OfflineMousePosition(folium.plugins.MousePosition):
    """folium's MousePosition control (the pointer's coordinates) with its script served by our server."""

    def __init__(self, *args, asset_base: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.default_js = [("Control_MousePosition_js", asset_base + "L.Control.MousePosition.js")]
        self.default_css = [("Control_MousePosition_css", asset_base + "L.Control.MousePosition.css")]


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that loads only Leaflet, from the local server (see the module docstring)."""

    default_js = [("leaflet", "leaflet.js")]
    default_css = [("leaflet_css", "leaflet.css")]

    def __init__(self, *args, asset_base: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        # instance attributes shadow the class lists read by folium's renderer and by streamlit-folium
        self.default_js = [("leaflet", asset_base + "leaflet.js")]
        self.default_css = [("leaflet_css", asset_base + "leaflet.css")]


def new_map(geom: GridGeometry, *, tiles: bool = False) -> OfflineMap:
    """An offline map fitted to the cube ``geom``; ``tiles=True`` adds OpenStreetMap (needs internet)."""
    return _fitted_map(mercator_warp(geom).bounds, zoom_start=14, tiles=tiles)


def _fitted_map(bounds, *, zoom_start: int, tiles: bool) -> OfflineMap:
    """An offline map fitted to ``bounds`` ((south, west), (north, east)) in degrees, with the pointer's
    coordinates; ``tiles=True`` adds OpenStreetMap (needs internet)."""
    (south, west), (north, east) = bounds
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], zoom_start=zoom_start, tiles=None,
                   control_scale=True, asset_base=_asset_base_url(), zoom_snap=0.25, zoom_delta=0.5)
    if tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online only)").add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    fmt = "function(num) {return L.Util.formatNum(num, 5) + '°';};"
    OfflineMousePosition(position="bottomleft", separator=", ", empty_string="pointer: lat, lon", prefix="lat, lon",
                         lat_formatter=fmt, lng_formatter=fmt, asset_base=_plugin_base_url()).add_to(m)
    return m


def add_rgb(m: folium.Map, geom: GridGeometry, rgba: np.ndarray, *, name: str, show: bool = True,
            opacity: float = 1.0) -> folium.raster_layers.ImageOverlay:
    """Add a ``(ny, nx, 4)`` uint8 picture of the cube grid (e.g. the true colour) as a Mercator-warped overlay."""
    warp = mercator_warp(geom)
    warped = np.asarray(rgba, dtype=np.uint8)[warp.rows, warp.cols].copy()
    warped[~warp.inside, 3] = 0
    layer = folium.raster_layers.ImageOverlay(image=png_data_url(warped), bounds=[list(warp.bounds[0]),
                                              list(warp.bounds[1])], name=name, opacity=opacity, show=show,
                                              interactive=False)
    layer.add_to(m)
    return layer


def add_raster(m: folium.Map, geom: GridGeometry, values: np.ndarray, *, name: str, cmap: str = "ndvi",
               vmin: float | None = None, vmax: float | None = None, opacity: float = 1.0,
               show: bool = True) -> folium.raster_layers.ImageOverlay:
    """Add a ``(ny, nx)`` cube raster (NaN = transparent) as a colour-mapped, Mercator-warped overlay."""
    warp = mercator_warp(geom)
    url = png_data_url(colorize(warp.apply(values), cmap=cmap, vmin=vmin, vmax=vmax))
    layer = folium.raster_layers.ImageOverlay(image=url, bounds=[list(warp.bounds[0]), list(warp.bounds[1])],
                                              name=name, opacity=opacity, show=show, interactive=False)
    layer.add_to(m)
    return layer


def add_mask(m: folium.Map, geom: GridGeometry, mask: np.ndarray, *, name: str,
             color: tuple[int, int, int] = (255, 255, 255), opacity: float = 0.85,
             show: bool = True) -> folium.raster_layers.ImageOverlay:
    """Add a ``(ny, nx)`` bool mask (e.g. clouds) as an overlay: ``color`` where True, clear elsewhere."""
    warp = mercator_warp(geom)
    warped = np.asarray(mask, dtype=bool)[warp.rows, warp.cols] & warp.inside
    url = png_data_url(mask_rgba(warped, color=color))
    layer = folium.raster_layers.ImageOverlay(image=url, bounds=[list(warp.bounds[0]), list(warp.bounds[1])],
                                              name=name, opacity=opacity, show=show, interactive=False)
    layer.add_to(m)
    return layer


def marker(lat: float, lon: float, *, tooltip: str) -> folium.FeatureGroup:
    """A small circle at ``lat, lon`` in its own layer, for :func:`show_map`'s ``dynamic`` layers.

    A CircleMarker needs no icon image (nothing to download).
    """
    group = folium.FeatureGroup(name="selected pixel")
    folium.CircleMarker([lat, lon], radius=7, color="#d62728", weight=3, fill=True, fill_opacity=0.2,
                        tooltip=tooltip).add_to(group)
    return group


def show_map(m: folium.Map, *, key: str, height: int = 420, layer_control: bool = True,
             dynamic: list[folium.FeatureGroup] | None = None) -> dict | None:
    """Draw ``m`` (via ``streamlit_folium.st_folium``) and return what the user did (``last_clicked``).

    ``dynamic`` layers (e.g. the selected-pixel :func:`marker`) are updated in place when they change,
    without re-mounting the map (which would reset the zoom).
    """
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(m)  # open, it hid a quarter of the raster
    # looked up on the module at call time so tests can patch streamlit_folium.st_folium
    return streamlit_folium.st_folium(m, key=key, height=height, use_container_width=True,
                                      returned_objects=["last_clicked"], pixelated=True,
                                      feature_group_to_add=dynamic)


def clicked_pixel(result: dict | None, geom: GridGeometry, *, state_key: str) -> tuple[int, int] | None:
    """The cube pixel of a *new* map click (None if no click, the same click again, or off the cube).

    ``state_key`` remembers the last click handled, because st_folium returns the last click on every rerun.
    """
    click = (result or {}).get("last_clicked")
    if not click:
        return None
    stamp = (round(float(click["lat"]), 9), round(float(click["lng"]), 9))
    if st.session_state.get(state_key) == stamp:
        return None
    st.session_state[state_key] = stamp
    return latlon_to_pixel(geom, stamp[0], stamp[1])


def legend(cmap: str, *, label: str, vmin: float | None = None, vmax: float | None = None) -> None:
    """A colour bar for ``cmap`` under a map (HTML, no map plugin)."""
    lo, hi = DEFAULT_RANGES[cmap]
    lo = lo if vmin is None else vmin
    hi = hi if vmax is None else vmax
    st.html(
        f'<div style="font-size:0.8rem;margin:-0.3rem 0 0.5rem 0">{label}'
        f'<div style="height:10px;border-radius:3px;background:{legend_css_gradient(cmap)}"></div>'
        f'<div style="display:flex;justify-content:space-between"><span>{lo:g}</span><span>{hi:g}</span></div></div>'
    )


def show_pixel_map(m: folium.Map, geom: GridGeometry, *, row_key: str, col_key: str, key: str, click_key: str,
                   height: int, legend_label: str) -> None:
    """Show ``m`` with a pin on the pixel held in ``st.session_state[row_key]``/``[col_key]`` and an NDVI legend;
    a click on the map selects the pixel under it (stored in those keys) and reruns the page.

    The pixel keys are widget keys of the page's Row/Column inputs: the page sets them before drawing."""
    row, col = st.session_state[row_key], st.session_state[col_key]
    lat, lon = pixel_to_latlon(geom, row, col)
    result = show_map(m, key=key, height=height, dynamic=[marker(lat, lon, tooltip=f"pixel row {row}, col {col}")])
    legend("ndvi", label=legend_label)
    hit = clicked_pixel(result, geom, state_key=click_key)
    if hit is not None:
        st.session_state[row_key], st.session_state[col_key] = hit
        st.rerun()


# ----------------------------------------------------------------------------------------- points

def new_points_map(places: PointPlaces, *, tiles: bool = False) -> OfflineMap:
    """An offline map fitted to the points of a parcel/point table (no raster: each point is a marker)."""
    return _fitted_map(places.bounds, zoom_start=12, tiles=tiles)


def add_points(m: folium.Map, places: PointPlaces, values: np.ndarray, *, name: str, cmap: str = "ndvi",
               show: bool = True, unit: str = "NDVI", radius: int = 6) -> folium.FeatureGroup:
    """Add a layer of one circle marker per located point, coloured by ``values`` (n,) under ``cmap``; a point
    whose value is NaN is drawn hollow grey (e.g. cloudy). The tooltip gives the id and the value."""
    group = folium.FeatureGroup(name=name, show=show)
    colours = hex_colors(values, cmap=cmap)
    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    for i in np.flatnonzero(places.located):
        colour = colours[i]
        text = f"{places.ids[i]}: " + (f"{vals[i]:.3f} {unit}" if colour else "no value")
        folium.CircleMarker([float(places.lat[i]), float(places.lon[i])], radius=radius, weight=1,
                            color="#333333" if colour else "#999999", fill=colour is not None,
                            fill_color=colour or "#ffffff", fill_opacity=0.9, tooltip=text).add_to(group)
    group.add_to(m)
    return group


def show_point_map(m: folium.Map, places: PointPlaces, *, index_key: str, key: str, click_key: str, height: int,
                   legend_label: str) -> None:
    """Show ``m`` with a ring on the point held in ``st.session_state[index_key]`` (its index along the table's
    ids) and an NDVI legend; a click selects the nearest point (stored there) and reruns the page."""
    i = int(st.session_state[index_key])
    ring = folium.FeatureGroup(name="selected point")
    if places.located[i]:
        folium.CircleMarker([float(places.lat[i]), float(places.lon[i])], radius=11, color="#d62728", weight=3,
                            fill=False, tooltip=f"point {places.ids[i]}").add_to(ring)
    result = show_map(m, key=key, height=height, dynamic=[ring])
    legend("ndvi", label=legend_label)
    click = (result or {}).get("last_clicked")
    if not click:
        return
    stamp = (round(float(click["lat"]), 9), round(float(click["lng"]), 9))
    if st.session_state.get(click_key) == stamp:
        return
    st.session_state[click_key] = stamp
    hit = places.nearest(*stamp)
    if hit is not None and hit != i:
        st.session_state[index_key] = hit
        st.rerun()
