"""Rendering of the Table 4- and Table 3-form tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcnnseq.metrics import compare_models
from mcnnseq.reporting import format_crop_table, format_date_table


def _table():
    truth = np.array([[0.1, 0.5, np.nan], [0.3, 0.7, np.nan], [0.2, 0.9, np.nan]])
    preds = {"CNN": truth + 0.1, "MCNN-Seq": truth}
    return compare_models(preds, truth, pd.to_datetime(["2018-01-11", "2018-01-16", "2018-01-31"]))


def test_date_table_text_has_one_row_per_date_and_the_mean():
    text = format_date_table(_table())
    lines = text.splitlines()
    assert lines[0].split() == ["date", "CNN", "R²", "CNN", "RMSE", "MCNN-Seq", "R²", "MCNN-Seq", "RMSE"]
    assert lines[2].startswith("2018-01-11") and lines[-1].startswith("mean")
    assert len(lines) == 2 + 3 + 1
    assert "0.1000" in lines[2]  # CNN RMSE on the first date: a constant 0.1 offset
    assert "—" in lines[4]  # the third date has no truth: predicted, never scored


def test_date_table_markdown():
    md = format_date_table(_table(), markdown=True)
    assert md.splitlines()[1].startswith("|---")
    assert len(md.splitlines()) == 2 + 3 + 1  # header, rule, three dates, mean
    assert md.splitlines()[-1].startswith("| mean |")


def test_crop_table_names_the_crops():
    agreement = pd.DataFrame({"crop": [1, 5, 1, 5], "model": ["CNN", "CNN", "RNN", "RNN"],
                              "r2": [0.9, 0.5, 0.8, np.nan], "rmse": [0.05, 0.1, 0.06, 0.2],
                              "n_dates": [31] * 4, "n_pixels": [100, 40, 100, 40]})
    text = format_crop_table(agreement)
    assert "Onion" in text and "Alfalfa" in text
    alfalfa = next(line for line in text.splitlines() if line.startswith("Alfalfa"))
    assert "—" in alfalfa and alfalfa.rstrip().endswith("40")


def test_gap_and_days_tables():
    from mcnnseq.gaps import days_labels
    from mcnnseq.reporting import format_days_table, format_gap_table

    by_gap = pd.DataFrame({"model": ["Linear"] * 2 + ["CNN"] * 2, "k": [1, 2, 1, 2], "r2": [0.65, np.nan, 0.5, 0.4],
                           "rmse": [0.1, np.nan, 0.2, 0.25], "n": [300, 10, 300, 10]})
    lines = format_gap_table(by_gap).splitlines()
    assert lines[0].split()[:3] == ["gap", "(dates)", "Linear"] and lines[0].split()[-1] == "n"
    assert lines[2].split() == ["1", "0.6500", "0.1000", "0.5000", "0.2000", "300"]
    assert lines[3].split()[1] == "—"
    labels = days_labels()
    by_days = pd.DataFrame({"model": ["Linear"] * len(labels), "bucket": pd.Categorical(labels, categories=labels,
                                                                                       ordered=True),
                            "r2": np.linspace(0.9, 0.3, len(labels)), "rmse": 0.1, "n": 50})
    md = format_days_table(by_days, markdown=True).splitlines()
    assert md[0].startswith("| days since clear") and md[2].startswith("| 1–20") and "none before" in md[-1]
