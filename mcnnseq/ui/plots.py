"""Plotly figures of the dashboard (no Streamlit here: each function returns a ``go.Figure``).

Colours: each model kind has a hue (MCNN-Seq red, CNN blue, RNN green, …) and each run of a kind a
shade of it (:func:`run_colors`), so a run looks the same on every page and two runs of one model
stay apart. Legends sit below the plot, clear of the axis titles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Shades per model kind, first = the kind's main colour.
PALETTES: dict[str, tuple[str, ...]] = {
    "MCNN-Seq": ("#d62728", "#ff7f0e", "#8c1d1d", "#e377c2"),
    "CNN": ("#1f77b4", "#17becf", "#0b3d6b", "#6baed6"),
    "RNN": ("#2ca02c", "#bcbd22", "#145214", "#74c476"),
    "Linear": ("#7f7f7f", "#b0b0b0", "#4d4d4d"),
    "Whittaker": ("#9467bd", "#c5b0d5", "#5e3c99"),
    "MCNN-Seq fusion": ("#8c564b", "#c49c94", "#5b3029", "#e7969c"),
}
MODEL_COLORS: dict[str, str] = {kind: shades[0] for kind, shades in PALETTES.items()}
_OTHER = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
OBSERVED_COLOR = "#222222"
VV_COLOR, VH_COLOR = "#9467bd", "#ff7f0e"
ONE_TO_ONE_COLOR = "#111111"
TRAIN_COLOR, VAL_COLOR = "#1f77b4", "#ff7f0e"
#: Point flag (:data:`mcnnseq.flags.FLAG_MEANINGS` word) -> marker symbol of a series chart.
FLAG_SYMBOLS: dict[str, str] = {"observed": "circle", "cloud_filled": "diamond-open", "no_optical_date": "x",
                                "no_value": "circle-open"}
#: Legend text of each flag on a chart with predictions, and on one without (nothing was filled).
FLAG_LEGEND: dict[str, str] = {"cloud_filled": "cloud-filled (predicted)", "no_optical_date": "no optical date (predicted)"}
FLAG_LEGEND_MISSING: dict[str, str] = {"cloud_filled": "cloudy (no clear value)", "no_optical_date": "no optical date"}
CLOUD_BAND, NO_OPTICAL_BAND = "#b0bec5", "#546e7a"
_LEGEND = dict(orientation="h", yref="container", yanchor="bottom", y=0.0, x=0.0, traceorder="normal")
_LAYOUT = dict(margin=dict(l=10, r=10, t=50, b=90), legend=_LEGEND, hovermode="x unified")


def model_color(name: str) -> str:
    """The main colour of a model kind ("MCNN-Seq"), or of a run named "<kind> · …"."""
    kind = str(name).split(" · ")[0]
    return MODEL_COLORS.get(kind, "#7f7f7f")


def run_colors(runs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``[(run name, model kind), …]`` -> run name -> colour: the kind's shades in order (the first run of a
    kind gets the kind's main colour), never a colour another run already has."""
    taken: set[str] = set()
    count: dict[str, int] = {}
    out = {}
    every = [c for shades in PALETTES.values() for c in shades] + list(_OTHER)
    for name, kind in runs:
        k = count.get(kind, 0)
        count[kind] = k + 1
        shades = PALETTES.get(kind, ())
        candidates = list(shades[k:]) + list(_OTHER) + every
        colour = next((c for c in candidates if c not in taken), candidates[0] if candidates else "#7f7f7f")
        taken.add(colour)
        out[name] = colour
    return out


def _color(name: str, colors: Mapping[str, str] | None) -> str:
    return (colors or {}).get(name) or model_color(name)


def _title(text: str, simulated: bool) -> str:
    return f"{text} — SIMULATED" if simulated else text


def cloud_fraction_chart(dates: Sequence[str], fractions: Sequence[float], *, simulated: bool = False) -> go.Figure:
    """Bar chart of the fraction of cloudy (NDVI-missing) pixels per date, in %."""
    pct = 100 * np.asarray(fractions, dtype=float)
    colors = ["#9e9e9e" if p >= 99.999 else "#64b5f6" for p in pct]
    fig = go.Figure(go.Bar(x=list(dates), y=pct, marker_color=colors, name="cloudy pixels",
                           hovertemplate="%{x}: %{y:.1f} % cloudy<extra></extra>"))
    fig.update_layout(title=_title("Cloud / missing optical data per date", simulated), yaxis_title="% of pixels",
                      yaxis_range=[0, 100], height=300, **{k: v for k, v in _LAYOUT.items() if k != "hovermode"})
    return fig


def pixel_series_figure(dates: Sequence, *, vv: np.ndarray, vh: np.ndarray, ndvi: np.ndarray,
                        ndvi_true: np.ndarray | None = None, predictions: Mapping[str, np.ndarray] | None = None,
                        s1_dates: Sequence | None = None, title: str = "Pixel", simulated: bool = False,
                        colors: Mapping[str, str] | None = None, stds: Mapping[str, np.ndarray] | None = None,
                        optical: Sequence[bool] | None = None) -> go.Figure:
    """One pixel's series: NDVI on top (observed, true under clouds, predictions ±2σ), VV/VH (dB) below.

    ``vv``, ``vh``, ``ndvi`` and each prediction are ``(T,)``; NaN NDVI = cloudy (grey bands; dark bands:
    dates with no optical value anywhere). ``stds``: run name -> (T,) σ (NDVI), drawn as a band
    prediction ± 2σ in the run's colour (traces "<run> +2σ" and "<run> ±2σ"). ``optical`` (T,) bool
    (:func:`mcnnseq.flags.optical_dates`, default all True) decides each point's flag
    (:func:`mcnnseq.flags.point_flags`): every gap-filled point of a run is marked by its flag
    (:data:`FLAG_SYMBOLS`; trace "<run> filled points", the flag words in ``customdata``); without runs the
    missing dates are marked on the NDVI axis's floor (trace "missing dates").
    """
    from mcnnseq.flags import point_flags

    x = pd.to_datetime(list(dates))
    nd = np.asarray(ndvi, dtype=float)
    opt = np.ones(len(x), dtype=bool) if optical is None else np.asarray(optical, dtype=bool)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4],
                        subplot_titles=("NDVI", "Sentinel-1 backscatter (dB)"))
    cloudy = ~np.isfinite(nd)
    for d, dark in zip(x[cloudy], ~opt[cloudy]):
        fig.add_vrect(x0=d - pd.Timedelta(days=2), x1=d + pd.Timedelta(days=2),
                      fillcolor=NO_OPTICAL_BAND if dark else CLOUD_BAND, opacity=0.35, line_width=0, row=1, col=1,
                      exclude_empty_subplots=False)
    if ndvi_true is not None:
        fig.add_trace(go.Scatter(x=x, y=ndvi_true, name="true NDVI (simulated, under clouds)", mode="lines",
                                 line=dict(color="#888888", dash="dot")), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=ndvi, name="observed NDVI", mode="markers+lines", customdata=["observed"] * len(x),
                             line=dict(color=OBSERVED_COLOR), marker=dict(size=6, symbol=FLAG_SYMBOLS["observed"])),
                  row=1, col=1)
    seen: set[str] = set()
    for name, pred in (predictions or {}).items():
        colour = _color(name, colors)
        pred = np.asarray(pred, dtype=float)
        std = (stds or {}).get(name)
        if std is not None:
            std = np.asarray(std, dtype=float)
            fig.add_trace(go.Scatter(x=x, y=pred + 2 * std, name=f"{name} +2σ", mode="lines", line=dict(width=0),
                                     legendgroup=name, showlegend=False, hoverinfo="skip"), row=1, col=1)
            fig.add_trace(go.Scatter(x=x, y=pred - 2 * std, name=f"{name} ±2σ", mode="lines", line=dict(width=0),
                                     fill="tonexty", fillcolor=_rgba(colour, 0.18), legendgroup=name,
                                     hoverinfo="skip"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=pred, name=f"{name} prediction", mode="lines", legendgroup=name,
                                 line=dict(color=colour, width=2)), row=1, col=1)
        flags = point_flags(nd, pred, opt)
        keep = [i for i, f in enumerate(flags) if f in FLAG_LEGEND]
        if keep:
            seen.update(flags[i] for i in keep)
            fig.add_trace(go.Scatter(x=x[keep], y=pred[keep], name=f"{name} filled points", mode="markers",
                                     customdata=[flags[i] for i in keep], legendgroup=name, showlegend=False,
                                     marker=dict(size=9, color=colour, symbol=[FLAG_SYMBOLS[flags[i]] for i in keep],
                                                 line=dict(width=2, color=colour)),
                                     hovertemplate="%{y:.3f} (%{customdata})"), row=1, col=1)
    legend = FLAG_LEGEND
    if not predictions:  # nothing filled: mark what is missing on each date, on the NDVI axis's floor
        legend = FLAG_LEGEND_MISSING
        flags = point_flags(nd, np.zeros(len(x)), opt)
        keep = [i for i, f in enumerate(flags) if f in FLAG_LEGEND]
        if keep:
            seen.update(flags[i] for i in keep)
            floor = float(np.nanmin(nd)) - 0.05 if np.isfinite(nd).any() else 0.0
            fig.add_trace(go.Scatter(x=x[keep], y=[floor] * len(keep), name="missing dates", mode="markers",
                                     customdata=[flags[i] for i in keep], showlegend=False,
                                     marker=dict(size=9, color="#546e7a", symbol=[FLAG_SYMBOLS[flags[i]] for i in keep],
                                                 line=dict(width=2, color="#546e7a")),
                                     hovertemplate="%{customdata}<extra></extra>"), row=1, col=1)
    for flag in ("cloud_filled", "no_optical_date"):  # legend keys of the point marks
        if flag in seen:
            fig.add_trace(go.Scatter(x=[None], y=[None], name=legend[flag], mode="markers",
                                     marker=dict(size=9, color="#555555", symbol=FLAG_SYMBOLS[flag],
                                                 line=dict(width=2, color="#555555"))), row=1, col=1)
    rx = pd.to_datetime(list(s1_dates)) if s1_dates is not None else x
    fig.add_trace(go.Scatter(x=rx, y=vv, name="VV", mode="lines+markers", line=dict(color=VV_COLOR),
                             marker=dict(size=4)), row=2, col=1)
    fig.add_trace(go.Scatter(x=rx, y=vh, name="VH", mode="lines+markers", line=dict(color=VH_COLOR),
                             marker=dict(size=4)), row=2, col=1)
    fig.update_yaxes(title_text="NDVI", row=1, col=1)
    fig.update_yaxes(title_text="σ0 (dB)", row=2, col=1)
    fig.update_layout(title=_title(title, simulated), height=520, **_LAYOUT)
    return fig


def attention_figure(weights: np.ndarray, predicted_dates: Sequence, radar_dates: Sequence, *, title: str,
                     simulated: bool = False) -> go.Figure:
    """MCNN-Seq's attention weights of one pixel as a heatmap: row = predicted date, column = radar date
    (:func:`mcnnseq.attention.attention_weights`, rows sum to 1); with sub-sequences of k radar dates a column
    is labelled "first … last" date of its sub-sequence."""
    w = np.asarray(weights, dtype=float)
    radar = [str(d) for d in radar_dates]
    if len(radar) != w.shape[1] and w.shape[1] and len(radar) % w.shape[1] == 0:  # sub-sequences of k dates
        k = len(radar) // w.shape[1]
        radar = [f"{radar[j * k]} … {radar[j * k + k - 1]}" for j in range(w.shape[1])]
    fig = go.Figure(go.Heatmap(z=w, x=radar[: w.shape[1]],
                               y=[str(d) for d in predicted_dates][: w.shape[0]], zmin=0.0,
                               colorscale="Viridis", colorbar=dict(title="weight"),
                               hovertemplate="predicted %{y} ← radar %{x}: %{z:.3f}<extra></extra>"))
    fig.update_xaxes(title_text="radar date (Sentinel-1)", type="category", tickangle=-60, tickfont=dict(size=9))
    fig.update_yaxes(title_text="predicted date", type="category", autorange="reversed", tickfont=dict(size=9))
    fig.update_layout(title=_title(title, simulated), height=520, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def training_curves(history: pd.DataFrame, *, title: str = "Training", colors: Mapping[str, str] | None = None
                    ) -> go.Figure:
    """Per-epoch loss and R² curves, training vs validation (paper Fig. 12).

    ``history`` has an ``epoch`` column and any of ``train_loss``, ``val_loss``, ``train_r2``, ``val_r2``;
    a ``model`` column, when it names more than one model (or run), draws one colour per model with
    training solid and validation dashed; for one model, training is blue and validation orange.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss (MSE, NDVI²)", "R²"), horizontal_spacing=0.08)
    groups = list(history.groupby("model", sort=False)) if "model" in history.columns else [(None, history)]
    several = len(groups) > 1
    split_names = {"train": "training", "val": "validation"}
    for model, g in groups:
        for metric in ("loss", "r2"):
            for split in ("train", "val"):
                col = f"{split}_{metric}"
                if col not in g.columns or not g[col].notna().any():
                    continue
                if several:
                    color, dash = _color(model, colors), "solid" if split == "train" else "dash"
                else:
                    color, dash = (TRAIN_COLOR if split == "train" else VAL_COLOR), "solid"
                label = f"{split_names[split]} {'loss' if metric == 'loss' else 'R²'}"
                fig.add_trace(go.Scatter(x=g["epoch"], y=g[col], name=f"{model} — {label}" if several else label,
                                         legendgroup=str(model), mode="lines+markers",
                                         line=dict(color=color, dash=dash), marker=dict(size=5),
                                         showlegend=metric == "loss" or several),
                              row=1, col=1 if metric == "loss" else 2)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(title=title, height=380, **{k: v for k, v in _LAYOUT.items() if k != "hovermode"})
    return fig


def per_date_chart(table: pd.DataFrame, *, metric: str = "r2", reference: pd.DataFrame | None = None,
                   simulated: bool = False, colors: Mapping[str, str] | None = None,
                   reference_label: str = "paper") -> go.Figure:
    """Per-date R² or RMSE of every run (Table 4 / Fig. 6). ``table`` is ``metrics.compare_models`` output
    without its mean row (columns ``(run, metric)``); ``reference`` the paper's table (columns ``(model
    kind, metric)``), drawn dotted and named "<kind> (<reference_label>)"."""
    label = {"r2": "R²", "rmse": "RMSE (NDVI)"}[metric]
    fig = go.Figure()
    for model in table.columns.get_level_values(0).unique():
        fig.add_trace(go.Scatter(x=table.index, y=table[(model, metric)], name=model, mode="lines+markers",
                                 line=dict(color=_color(model, colors))))
    if reference is not None:
        for model in reference.columns.get_level_values(0).unique():
            if (model, metric) in reference.columns:
                fig.add_trace(go.Scatter(x=reference.index, y=reference[(model, metric)],
                                         name=f"{model} ({reference_label})", mode="lines",
                                         line=dict(color=model_color(model), dash="dot", width=1)))
    fig.update_layout(title=_title(f"{label} per date", simulated), yaxis_title=label, height=400, **_LAYOUT)
    return fig


def gap_chart(by_gap: pd.DataFrame, by_days: pd.DataFrame, *, metric: str = "r2", simulated: bool = False,
              colors: Mapping[str, str] | None = None) -> go.Figure:
    """R² or RMSE on artificially hidden dates, per run: by gap length (left, ``by_gap`` rows model, k, r2,
    rmse, n) and by days since the last clear observation (right, ``by_days`` rows model, bucket, …) —
    :attr:`mcnnseq.experiment.Evaluation.by_gap` / ``by_days``. One line per run and panel; a cell with too
    few hidden values is NaN (a break in the line)."""
    label = {"r2": "R²", "rmse": "RMSE (NDVI)"}[metric]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("by consecutive missing dates", "by days since the last clear observation"))
    models = list(dict.fromkeys(list(by_gap["model"]) + list(by_days["model"])))
    for model in models:
        g = by_gap[by_gap["model"] == model].sort_values("k")
        d = by_days[by_days["model"] == model].sort_values("bucket")
        colour = _color(model, colors)
        fig.add_trace(go.Scatter(x=[f"{int(k)} date{'s' if int(k) > 1 else ''}" for k in g["k"]],
                                 y=g[metric].astype(float), customdata=g["n"], name=model, legendgroup=model,
                                 mode="lines+markers", line=dict(color=colour),
                                 hovertemplate="%{y:.3f} (%{customdata} hidden values)"), row=1, col=1)
        fig.add_trace(go.Scatter(x=[f"{b} d" if b[0].isdigit() or b[0] == ">" else str(b) for b in d["bucket"]],
                                 y=d[metric].astype(float), customdata=d["n"], name=model, legendgroup=model,
                                 showlegend=False, mode="lines+markers", line=dict(color=colour),
                                 hovertemplate="%{y:.3f} (%{customdata} hidden values)"), row=1, col=2)
    fig.update_yaxes(title_text=label, row=1, col=1)
    fig.update_layout(title=_title(f"{label} on artificially hidden dates of the test pixels", simulated), height=420,
                      **{**_LAYOUT, "hovermode": "closest", "margin": dict(l=10, r=10, t=80, b=90)})
    return fig


def density_figure(counts: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray, *, title: str) -> go.Figure:
    """Density scatter (2-D histogram, log colour) of truth (x) vs prediction (y), with the 1:1 line."""
    xc = (x_edges[:-1] + x_edges[1:]) / 2
    yc = (y_edges[:-1] + y_edges[1:]) / 2
    z = np.where(counts.T > 0, np.log10(np.maximum(counts.T, 1)), np.nan)
    fig = go.Figure(go.Heatmap(x=xc, y=yc, z=z, colorscale="Viridis", colorbar=dict(title="log10 n"),
                               hovertemplate="true %{x:.2f}, predicted %{y:.2f}: 10^%{z:.1f} px<extra></extra>"))
    lo, hi = float(x_edges[0]), float(x_edges[-1])
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="1:1 line",
                             line=dict(color=ONE_TO_ONE_COLOR, dash="dash", width=1.5), showlegend=True,
                             hoverinfo="skip"))
    fig.update_layout(title=title, xaxis_title="true NDVI", yaxis_title="predicted NDVI", height=420,
                      margin=dict(l=10, r=10, t=70, b=70), legend=dict(_LEGEND), plot_bgcolor="white")
    fig.update_xaxes(showgrid=True, gridcolor="#e5e5e5")
    fig.update_yaxes(showgrid=True, gridcolor="#e5e5e5")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def error_hist_figure(series: Mapping[str, tuple[np.ndarray, np.ndarray]], *, title: str,
                      colors: Mapping[str, str] | None = None) -> go.Figure:
    """Error histograms (prediction − truth, NDVI), one bar trace per run: name -> (counts, edges)."""
    fig = go.Figure()
    for name, (counts, edges) in series.items():
        centres = (edges[:-1] + edges[1:]) / 2
        total = max(int(np.sum(counts)), 1)
        fig.add_trace(go.Bar(x=centres, y=100 * np.asarray(counts) / total, name=name, opacity=0.6,
                             marker_color=_color(name, colors), width=float(np.diff(edges).mean())))
    fig.update_layout(title=title, barmode="overlay", xaxis_title="prediction − truth (NDVI)",
                      yaxis_title="% of pixels", height=420, **{**_LAYOUT, "margin": dict(l=10, r=10, t=70, b=90)})
    return fig


def crop_profile_figure(profile: pd.DataFrame, radar: pd.DataFrame | None = None, *, title: str,
                        model_profiles: Mapping[str, pd.DataFrame] | None = None,
                        cloudy_dates: Sequence | None = None, simulated: bool = False,
                        colors: Mapping[str, str] | None = None,
                        model_sigma: Mapping[str, pd.DataFrame] | None = None) -> go.Figure:
    """One crop's mean NDVI ±2σ, observed vs predicted (Figs. 9–11), with VV/VH panels below.

    ``profile`` holds one class of ``metrics.class_profiles`` (columns time, obs_mean, obs_lo, obs_hi, …);
    ``model_profiles`` maps further model names to their own such frames; ``radar`` is one class of
    ``metrics.radar_profiles``. ``cloudy_dates`` are shaded. ``model_sigma``: run name -> rows (time, sigma)
    of the model's uncertainty (:meth:`mcnnseq.workspace.Workspace.profile_sigma`); such a run's band is
    pred_mean ± 2σ (traces "<run> +2σ", "<run> ±2σ"), the others' the ±2 SD spread of the pixels.
    """
    rows = 3 if radar is not None else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.6, 0.2, 0.2] if rows == 3 else [1.0],
                        subplot_titles=("NDVI (mean ± 2σ)", "VV (dB)", "VH (dB)") if rows == 3 else ("NDVI (mean ± 2σ)",))
    for d in pd.to_datetime(list(cloudy_dates or [])):
        fig.add_vrect(x0=d - pd.Timedelta(days=2), x1=d + pd.Timedelta(days=2), fillcolor="#b0bec5", opacity=0.35,
                      line_width=0, row=1, col=1, exclude_empty_subplots=False)

    def band(frame: pd.DataFrame, prefix: str, name: str, color: str, dash: str, row: int) -> None:
        x = pd.to_datetime(frame["time"])
        fig.add_trace(go.Scatter(x=x, y=frame[f"{prefix}_hi"], mode="lines", line=dict(width=0), showlegend=False,
                                 hoverinfo="skip"), row=row, col=1)
        fig.add_trace(go.Scatter(x=x, y=frame[f"{prefix}_lo"], mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(color, 0.15), showlegend=False, hoverinfo="skip"), row=row, col=1)
        fig.add_trace(go.Scatter(x=x, y=frame[f"{prefix}_mean"], mode="lines+markers", name=name,
                                 line=dict(color=color, dash=dash)), row=row, col=1)

    band(profile, "obs", "observed", OBSERVED_COLOR, "solid", 1)
    models = dict(model_profiles or {})
    for name, frame in models.items():
        sigma = (model_sigma or {}).get(name)
        if sigma is None:
            band(frame, "pred", f"{name} predicted", _color(name, colors), "dash", 1)
            continue
        colour = _color(name, colors)
        x = pd.to_datetime(frame["time"])
        s = pd.Series(np.asarray(sigma["sigma"], dtype=float), index=pd.to_datetime(sigma["time"])).reindex(x).to_numpy()
        m = frame["pred_mean"].to_numpy(float)
        fig.add_trace(go.Scatter(x=x, y=m + 2 * s, name=f"{name} +2σ", mode="lines", line=dict(width=0),
                                 legendgroup=name, showlegend=False, hoverinfo="skip"), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=m - 2 * s, name=f"{name} ±2σ", mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=_rgba(colour, 0.18), legendgroup=name, hoverinfo="skip"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=m, mode="lines+markers", name=f"{name} predicted", legendgroup=name,
                                 line=dict(color=colour, dash="dash")), row=1, col=1)
    if radar is not None:
        x = pd.to_datetime(radar["time"])
        for row, pol, color in ((2, "vv", VV_COLOR), (3, "vh", VH_COLOR)):
            m, s = radar[f"{pol}_mean"], radar[f"{pol}_std"]
            fig.add_trace(go.Scatter(x=x, y=m + 2 * s, mode="lines", line=dict(width=0), showlegend=False,
                                     hoverinfo="skip"), row=row, col=1)
            fig.add_trace(go.Scatter(x=x, y=m - 2 * s, mode="lines", line=dict(width=0), fill="tonexty",
                                     fillcolor=_rgba(color, 0.2), showlegend=False, hoverinfo="skip"), row=row, col=1)
            fig.add_trace(go.Scatter(x=x, y=m, mode="lines+markers", name=pol.upper(), line=dict(color=color)),
                          row=row, col=1)
    fig.update_layout(title=_title(title, simulated), height=660 if rows == 3 else 420, **_LAYOUT)
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def image_grid(panels: Sequence[tuple[str, str | None]], *, cols: int, height_per_row: int = 300,
               aspect: float = 1.0, title: str | None = None, pixel_size: tuple[float, float] | None = None
               ) -> go.Figure:
    """Rasters side by side with linked zoom: ``panels`` are ``(title, PNG data URL)`` of one grid size,
    filled row by row; a ``None`` URL leaves that cell empty.

    ``aspect`` is the rasters' height / width. Zooming or panning one panel moves them all.
    ``pixel_size`` ``(dx, dy)`` in metres puts the axes in metres from the scene's north-west corner.
    """
    n = len(panels)
    rows = max(1, -(-n // cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[t for t, _ in panels],
                        horizontal_spacing=0.05 if pixel_size else 0.01,
                        vertical_spacing=(0.1 if pixel_size else 0.08) if rows > 1 else 0.0)
    dx, dy = (abs(pixel_size[0]), abs(pixel_size[1])) if pixel_size else (1.0, 1.0)
    for i, (_, url) in enumerate(panels):
        if url is None:
            continue
        fig.add_trace(go.Image(source=url, hoverinfo="skip", x0=dx / 2, dx=dx, y0=dy / 2, dy=dy),
                      row=i // cols + 1, col=i % cols + 1)
    axis = dict(matches="x", showgrid=False, zeroline=False, showticklabels=bool(pixel_size),
                tickfont=dict(size=9), ticksuffix=" m" if pixel_size else "")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**{**axis, "matches": "y"})
    if pixel_size:
        for c in range(1, cols + 1):
            fig.update_xaxes(title_text="m east of the west edge", title_font=dict(size=10), row=rows, col=c)
        for r in range(1, rows + 1):
            fig.update_yaxes(title_text="m south of the north edge", title_font=dict(size=10), row=r, col=1)
    fig.update_annotations(font_size=12)  # the panel titles
    fig.update_layout(height=int(rows * height_per_row * max(aspect, 0.3)) + 80, margin=dict(l=5, r=5, t=60, b=5),
                      title=title)
    return fig
