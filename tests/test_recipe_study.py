"""scripts/recipe_study.py: the tables of docs/training-recipe.md are the script's output, not typed by hand."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("recipe_study", ROOT / "scripts" / "recipe_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_tables_are_generated_from_the_study_runs(study):
    doc = ROOT / "docs" / "training-recipe.md"
    text = doc.read_text()
    assert study.fill_doc(doc, study.generated_blocks(study.DEFAULT_OUT)) == text, (
        "docs/training-recipe.md is out of date: run scripts/recipe_study.py table --into docs/training-recipe.md")
    assert "| default | 0.850 (3)" in text  # the tables are filled, not empty markers


def test_table_means_seeds_and_differences_to_the_default(study, tmp_path):
    rows = [{"cube": "real", "model": "cnn", "variant": v, "seed": s, "test_r2": r2, "n_train": 10,
             "best_step": 200, "steps": 400, "stop": "early_stopping", "seconds": 60.0}
            for v, s, r2 in (("default", 0, 0.70), ("default", 1, 0.80), ("no_clip", 0, 0.65),
                             ("paper", 0, 0.30), ("paper", 1, 0.40))]
    rows[-1]["config"] = {"lr": 1e-3}
    out = tmp_path / "study.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    md = study.table_markdown(out)
    assert "| default | 0.750 (2) | 1.0 |" in md and "| paper | 0.350 (2) | 1.0 |" in md
    assert "| cnn | no_clip | -0.050 (1) |" in md and "| cnn | paper | -0.400 (2) |" in md
    assert "| real | cnn | 10 | 0.700–0.800 (2 seeds) | 200 | 400 | early_stopping 2 |" in md
    assert "4 runs predate the recorded configuration" in md


def test_presets_table_comes_from_train_config(study):
    from mcnnseq.training import PRESETS, TrainConfig

    md = study.presets_markdown()
    assert md.splitlines()[0].count("|") == len(PRESETS) + 2
    assert f"| `max_steps` | `{TrainConfig.default().max_steps}` | `{TrainConfig.quick().max_steps}` | — |" in md


def test_fill_doc_needs_its_markers(study, tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("a\n<!-- begin x -->\nold\n<!-- end x -->\nb\n")
    assert study.fill_doc(doc, {"x": "new\n"}) == "a\n<!-- begin x -->\nnew\n<!-- end x -->\nb\n"
    with pytest.raises(SystemExit, match="no <!-- begin y -->"):
        study.fill_doc(doc, {"y": "z\n"})


def test_the_quadrant_cubes_are_the_four_corners_of_the_shared_cube(study):
    import numpy as np

    exp, (xt, _), (xv, _) = study.load_cube("real_q3")
    full = study.load_cube("real")[0].ds
    assert dict(exp.ds.sizes) == {"time": 12, "y": 50, "x": 50} and exp.protocol == "real"
    np.testing.assert_array_equal(exp.ds["vv"].values, full["vv"].values[:, 50:, 50:])
    assert len(xt) > 1000 and len(xv) > 200


def test_the_reference_bilstm_is_seeded_and_scored_in_the_tables(study, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(-12, 3, (40, 6, 2)).astype("float32")
    y = (0.5 + 0.02 * x[..., 0] + 0.2).astype("float32")
    y[0, 2] = np.nan                                     # missing targets are masked
    a, b = study.PlainBiLSTM(x, y, seed=1, epochs=2), study.PlainBiLSTM(x, y, seed=1, epochs=2)
    assert a.predict(x).shape == (40, 6) and np.isfinite(a.predict(x)).all()
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    rows = [{"cube": "real", "model": m, "variant": "default", "seed": 0, "test_r2": r2, "n_train": 10,
             "best_step": step, "steps": 400, "stop": "completed", "seconds": 6.0}
            for m, r2, step in (("cnn", 0.7, 200), (study.REFERENCE, 0.6, None))]
    out = tmp_path / "study.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    md = study.table_markdown(out)
    assert f"#### {study.REFERENCE}:" in md and f"| real | {study.REFERENCE} | 10 | 0.600 | — | 400 |" in md
