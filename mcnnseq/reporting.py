"""Text and Markdown renderings of the metric tables (Table 4, Table 3, error by gap) for the CLI and reports."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def _date_label(value) -> str:
    if isinstance(value, str):
        return value
    return str(pd.Timestamp(value).date())


def _model_order(columns: pd.MultiIndex) -> list[str]:
    return list(dict.fromkeys(columns.get_level_values(0)))


def format_date_table(table: pd.DataFrame, *, markdown: bool = False) -> str:
    """Render a :func:`mcnnseq.metrics.compare_models` table: one row per date, R² and RMSE per model.

    A date with no truth shows ``—`` (predicted, never scored).
    """
    models = _model_order(table.columns)
    header = ["date"] + [f"{m} {k}" for m in models for k in ("R²", "RMSE")]
    rows = []
    for idx, row in table.iterrows():
        cells = [_date_label(idx)]
        for m in models:
            for k in ("r2", "rmse"):
                v = row[(m, k)]
                cells.append("—" if pd.isna(v) else f"{v:.4f}")
        rows.append(cells)
    return _render(header, rows, markdown=markdown)


def format_crop_table(agreement: pd.DataFrame, *, markdown: bool = False, class_column: str = "crop",
                      class_names: Mapping[int, str] | None = None) -> str:
    """Render :func:`mcnnseq.experiment.crop_metrics`' agreement: one row per class, R²/RMSE per model.

    ``class_names`` (code -> name, e.g. :func:`mcnnseq.datacube.crop_class_names`) labels the crop
    classes; default: the paper's classes.
    """
    from mcnnseq.paper import CROP_CLASSES

    names = CROP_CLASSES if class_names is None else class_names

    models = list(dict.fromkeys(agreement["model"]))
    header = [class_column] + [f"{m} {k}" for m in models for k in ("R²", "RMSE")] + ["pixels"]
    rows = []
    for cls, g in agreement.groupby(class_column, sort=True):
        label = names.get(int(cls), str(cls)) if class_column == "crop" else str(cls)
        cells = [label]
        for m in models:
            r = g[g["model"] == m]
            for k in ("r2", "rmse"):
                v = r[k].iloc[0] if len(r) else float("nan")
                cells.append("—" if pd.isna(v) else f"{v:.4f}")
        cells.append(str(int(g["n_pixels"].max())))
        rows.append(cells)
    return _render(header, rows, markdown=markdown)


def format_group_table(table: pd.DataFrame, *, group: str, label: str | None = None, markdown: bool = False) -> str:
    """Render a tidy score table (``model``, ``group``, ``r2``, ``rmse``, ``n``): one row per group, R²/RMSE per model.

    For :attr:`mcnnseq.experiment.Evaluation.by_gap` (``group="k"``) and ``.by_days`` (``group="bucket"``).
    Cells not scored (too few entries) show ``—``; the last column is the number of scored entries
    (of the first model: every model is scored on the same hidden entries).
    """
    models = list(dict.fromkeys(table["model"]))
    groups = list(dict.fromkeys(table[group])) if not isinstance(table[group].dtype, pd.CategoricalDtype) \
        else list(table[group].cat.categories)
    header = [label or group] + [f"{m} {k}" for m in models for k in ("R²", "RMSE")] + ["n"]
    rows = []
    for g in groups:
        sub = table[table[group] == g]
        cells = [str(g)]
        for m in models:
            r = sub[sub["model"] == m]
            for k in ("r2", "rmse"):
                v = r[k].iloc[0] if len(r) else float("nan")
                cells.append("—" if pd.isna(v) else f"{v:.4f}")
        cells.append(str(int(sub["n"].iloc[0])) if len(sub) else "0")
        rows.append(cells)
    return _render(header, rows, markdown=markdown)


def format_gap_table(by_gap: pd.DataFrame, *, markdown: bool = False) -> str:
    """Error by gap length: one row per k (hidden consecutive dates)."""
    return format_group_table(by_gap, group="k", label="gap (dates)", markdown=markdown)


def format_days_table(by_days: pd.DataFrame, *, markdown: bool = False) -> str:
    """Error by days since the last clear observation: one row per bucket."""
    return format_group_table(by_days, group="bucket", label="days since clear", markdown=markdown)


def _render(header: list[str], rows: list[list[str]], *, markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])
