"""mcnnseq.ui.plots: the figures carry the data they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcnnseq.ui import plots

DATES = pd.date_range("2018-01-11", periods=5, freq="12D")


def test_pixel_series_traces_and_cloud_bands():
    ndvi = np.array([0.2, np.nan, 0.5, np.nan, 0.3])
    fig = plots.pixel_series_figure(DATES, vv=np.arange(5.0) - 15, vh=np.arange(5.0) - 22, ndvi=ndvi,
                                    ndvi_true=np.full(5, 0.4), predictions={"CNN": np.full(5, 0.35)}, simulated=True)
    by_name = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(by_name["observed NDVI"].y, ndvi)
    np.testing.assert_array_equal(by_name["CNN prediction"].y, np.full(5, 0.35))
    np.testing.assert_array_equal(by_name["VH"].y, np.arange(5.0) - 22)
    assert len(fig.layout.shapes) == 2  # one grey band per cloudy date
    assert "SIMULATED" in fig.layout.title.text


def test_cloud_chart_in_percent():
    fig = plots.cloud_fraction_chart(["a", "b"], [0.25, 1.0])
    np.testing.assert_allclose(fig.data[0].y, [25.0, 100.0])


def test_training_curves_one_trace_per_model_metric_split():
    hist = pd.DataFrame({"model": ["CNN"] * 3 + ["RNN"] * 2, "epoch": [1, 2, 3, 1, 2],
                         "train_loss": [0.3, 0.2, 0.1, 0.4, 0.3], "val_loss": [0.35, 0.25, 0.2, 0.45, 0.3],
                         "train_r2": [0.1, 0.5, 0.7, 0.0, 0.2], "val_r2": [0.0, 0.4, 0.6, -0.1, 0.1]})
    fig = plots.training_curves(hist)
    assert len(fig.data) == 8
    trace = next(t for t in fig.data if t.name == "RNN — validation R²")
    np.testing.assert_allclose(trace.y, [-0.1, 0.1])
    assert trace.line.dash == "dash" and trace.line.color != next(t for t in fig.data if t.name.startswith("CNN")).line.color


def test_training_curves_of_one_model_tell_training_from_validation():
    hist = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.3, 0.2], "val_loss": [0.35, 0.25],
                         "train_r2": [0.1, 0.5], "val_r2": [0.0, 0.4]})
    fig = plots.training_curves(hist.assign(model="CNN · quick"))
    colours = {t.name: t.line.color for t in fig.data}
    assert colours["training loss"] != colours["validation loss"]
    assert colours["training R²"] == colours["training loss"]  # one colour per split, one panel per metric
    assert [t.name for t in fig.data if t.showlegend] == ["training loss", "validation loss"]
    assert fig.layout.legend.yref == "container" and fig.layout.margin.b >= 80  # clear of the "epoch" title


def test_run_colours_keep_runs_of_one_model_apart():
    colours = plots.run_colors([("CNN · shipped", "CNN"), ("CNN · quick", "CNN"), ("RNN · quick", "RNN"),
                                ("Mystery · x", "Mystery")])
    assert colours["CNN · shipped"] == plots.MODEL_COLORS["CNN"] != colours["CNN · quick"]
    assert colours["RNN · quick"] == plots.MODEL_COLORS["RNN"] and len(set(colours.values())) == 4


def test_density_one_to_one_line_is_visible():
    counts = np.ones((4, 4))
    edges = np.linspace(0, 1, 5)
    fig = plots.density_figure(counts, edges, edges, title="t")
    line = next(t for t in fig.data if t.name == "1:1 line")
    assert line.line.color.lower() not in ("white", "#ffffff", "#fff") and fig.layout.plot_bgcolor == "white"


def test_per_date_chart_with_reference():
    cols = pd.MultiIndex.from_product([["MCNN-Seq", "CNN"], ["r2", "rmse"]])
    table = pd.DataFrame(np.arange(20.0).reshape(5, 4), index=DATES, columns=cols)
    fig = plots.per_date_chart(table, metric="rmse", reference=table * 2)
    assert [t.name for t in fig.data] == ["MCNN-Seq", "CNN", "MCNN-Seq (paper)", "CNN (paper)"]
    real = plots.per_date_chart(table, reference=table, reference_label="paper, real data")
    assert real.data[-1].name == "CNN (paper, real data)" and real.data[-1].line.dash == "dot"
    np.testing.assert_allclose(fig.data[1].y, table[("CNN", "rmse")])


def test_image_grid_links_axes_and_skips_blanks():
    fig = plots.image_grid([("a", "data:image/png;base64,AA=="), ("", None), ("c", "data:image/png;base64,AA==")], cols=2)
    assert len(fig.data) == 2 and all(t.type == "image" for t in fig.data)
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis3.matches == "y"
    assert not fig.layout.xaxis.showticklabels


def test_image_grid_axes_in_metres():
    fig = plots.image_grid([("a", "data:image/png;base64,AA=="), ("b", "data:image/png;base64,AA==")], cols=2,
                           pixel_size=(10.0, -10.0))
    assert fig.data[0].dx == 10.0 and fig.data[0].dy == 10.0 and fig.data[0].x0 == 5.0
    assert fig.layout.xaxis.showticklabels and fig.layout.xaxis.ticksuffix == " m"
    assert fig.layout.xaxis.title.text == "m east of the west edge"


def test_attention_figure_labels_dates_and_sub_sequences():
    from mcnnseq.ui.plots import attention_figure

    dates = [f"2021-{m:02d}-01" for m in range(1, 7)]
    w = np.full((6, 6), 1 / 6)
    fig = attention_figure(w, dates, dates, title="t")
    assert list(fig.data[0].x) == dates and list(fig.data[0].y) == dates
    fig = attention_figure(np.full((6, 3), 1 / 3), dates, dates, title="t")  # sub-sequences of 2 dates
    assert list(fig.data[0].x) == ["2021-01-01 … 2021-02-01", "2021-03-01 … 2021-04-01", "2021-05-01 … 2021-06-01"]


def test_pixel_series_marks_each_point_by_its_flag():
    from mcnnseq.ui.plots import FLAG_SYMBOLS, pixel_series_figure

    dates = [f"2021-{m:02d}-01" for m in range(1, 6)]
    ndvi = np.array([0.3, np.nan, 0.5, np.nan, np.nan])
    pred = np.array([0.31, 0.4, 0.52, 0.6, np.nan])
    fig = pixel_series_figure(dates, vv=np.zeros(5), vh=np.zeros(5), ndvi=ndvi, predictions={"A": pred},
                              stds={"A": np.full(5, 0.05)}, optical=[True, True, True, False, True])
    points = next(t for t in fig.data if t.name == "A filled points")
    assert list(points.customdata) == ["cloud_filled", "no_optical_date"]  # the last date has no value at all
    assert list(points.marker.symbol) == [FLAG_SYMBOLS["cloud_filled"], FLAG_SYMBOLS["no_optical_date"]]
    upper = next(t for t in fig.data if t.name == "A +2σ")
    np.testing.assert_allclose(np.asarray(upper.y, dtype=float)[:4], pred[:4] + 0.1)
    assert {"cloud-filled (predicted)", "no optical date (predicted)"} <= {t.name for t in fig.data}
