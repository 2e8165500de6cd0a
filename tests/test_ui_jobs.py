"""mcnnseq.ui.jobs: training in a background thread, with history, progress and a clean stop."""

from __future__ import annotations

import numpy as np

from conftest import make_tiny_cube
from mcnnseq.experiment import make_experiment
from mcnnseq.training import TrainConfig
from mcnnseq.ui.jobs import TrainingJob


def _experiment():
    return make_experiment(make_tiny_cube(nt=6, ny=10, nx=12, seed=1), seed=0)


def test_job_trains_each_model_and_records_every_epoch():
    configs = [TrainConfig(model="cnn", epochs=3, batch_size=16, seed=0),
               TrainConfig(model="rnn", epochs=2, batch_size=16, seed=0, hparams={"hidden_size": 8})]
    job = TrainingJob(experiment=_experiment(), configs=configs, cube_key="k", label="test").start()
    job.join(60)
    assert job.status == "done", job.error
    assert set(job.results) == {"CNN", "RNN"} and job.progress == 1.0
    hist = job.history()
    assert list(hist.groupby("model", sort=False).size().items()) == [("CNN", 3), ("RNN", 2)]
    assert np.isfinite(hist[["train_loss", "val_loss"]].to_numpy()).all()
    assert job.finished is not None and job.finished >= job.started
    assert job.progress_text() == "Training done: 100 %"


def test_progress_text_names_the_model_and_its_place():
    job = TrainingJob(experiment=None, configs=[TrainConfig(model="cnn"), TrainConfig(model="rnn")], cube_key="k")
    job.current, job.current_index, job.progress = "RNN", 1, 0.44
    assert job.progress_text() == "Training RNN (2 of 2): 44 %"
    job.stop()
    assert job.progress_text().endswith("— stopping…")


def test_stop_keeps_what_was_trained_and_skips_the_rest():
    configs = [TrainConfig(model="cnn", epochs=1, batch_size=16),
               TrainConfig(model="rnn", epochs=500, batch_size=16, hparams={"hidden_size": 8})]
    job = TrainingJob(experiment=_experiment(), configs=configs, cube_key="k")
    job.start()
    while "RNN" not in set(job.history()["model"]) and job.running:  # wait for RNN's first epoch
        job.join(0.05)
    job.stop()
    job.join(60)
    assert job.status == "stopped" and job.stopping
    assert "CNN" in job.results and "RNN" in job.results  # RNN keeps its best epoch so far
    assert job.results["RNN"].stop_reason == "user" and len(job.results["RNN"].history) < 500


def test_failure_is_reported_not_raised():
    bad = TrainConfig(model="rnn", epochs=1, hparams={"no_such_option": 1})
    job = TrainingJob(experiment=_experiment(), configs=[bad], cube_key="k").start()
    job.join(60)
    assert job.status == "failed" and "no_such_option" in job.error
