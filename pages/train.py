"""Train page: choose models and hyper-parameters, train with live curves (Fig. 12), keep the runs."""

import json

import pandas as pd
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import plots, runs, state
from mcnnseq.ui.jobs import TrainingJob

st.title("Train")
cube = state.current_cube()
if cube.simulated:
    st.caption(f"Dataset: **{cube.title}**")
else:
    st.caption(f"Dataset: **{cube.label}**")
try:
    exp = runs.experiment_for(cube)
except McnnSeqError as err:
    st.error(f"This dataset cannot be used for training: {err}")
    st.stop()

sizes = exp.split.sizes()
c = st.columns(4)
c[0].metric("Training pixels", f"{sizes['train']:,}")
c[1].metric("Validation pixels", f"{sizes['val']:,}")
c[2].metric("Test pixels", f"{sizes['test']:,}")
c[3].metric("Dates", cube.ds.sizes["time"])
st.caption("Samples are the pixels whose NDVI series is complete, split at random (seed 0) 55 / 15 / 30 % "
           "(paper §2.2.4, Table 2); the 70 % cloud scenario keeps the 50 % split and moves newly clouded "
           "pixels to the test set, scored against the NDVI under the clouds.")

job = runs.harvest_job()


@st.fragment(run_every=1.0)
def _live() -> None:
    j = runs.job()
    if j is None:
        return
    if not j.running:
        st.rerun()  # the whole page: the finished job's models join the runs
    text = f"Training {j.current or '…'}: {100 * j.progress:.0f} %" + (" — stopping…" if j.stopping else "")
    st.progress(j.progress, text=text)
    hist = j.history()
    if len(hist):
        st.plotly_chart(plots.training_curves(hist, title=f"Training curves — {j.label}"), width="stretch",
                        key="train_live_chart")
    st.button("Stop training", on_click=j.stop, disabled=j.stopping, key="train_stop", type="primary",
              help="Stops before the next batch; the best epoch so far of the model in training is kept.")


if job is not None and job.running:
    if job.cube_key != cube.key:
        st.info(f"A training run on another dataset is in progress ({job.label}).")
    _live()
    st.stop()

if job is not None and job.cube_key == cube.key:
    took = (job.finished or job.started) - job.started
    if job.status == "failed":
        st.error(f"Training failed: {job.error}")
    elif job.status == "stopped":
        st.warning(f"Training stopped after {took:.0f} s; kept: {', '.join(job.results) or 'nothing'}.")
    else:
        st.success(f"Trained {', '.join(job.results)} in {took:.0f} s ({job.label}).")
    hist = job.history()
    if len(hist):
        st.plotly_chart(plots.training_curves(hist, title=f"Training curves — {job.label}"), width="stretch",
                        key="train_done_chart")


# ----------------------------------------------------------------------------------------- settings

from mcnnseq.models.registry import get_spec  # noqa: E402  (torch only once the page needs it)
from mcnnseq.training import OPTIMIZERS, PRESETS, TrainConfig  # noqa: E402

st.subheader("New training run")
models = st.multiselect("Models", list(state.MODEL_NAMES), default=state.selected_models(), key="train_models")
preset = st.radio("Preset", ["quick", "default", "paper"], horizontal=True, key="train_preset",
                  format_func=lambda p: f"{PRESETS[p].label} ({PRESETS[p].description})")
base = TrainConfig.from_preset(preset)
with st.expander("Hyper-parameters", expanded=False):
    c = st.columns(4)
    if base.max_steps is not None:      # a budget in optimiser steps (default, quick)
        budget = c[0].number_input("Optimiser steps (at most)", 1, 1_000_000, base.max_steps,
                                   key=f"train_steps:{preset}")
    else:
        budget = c[0].number_input("Epochs", 1, 500, base.epochs, key=f"train_epochs:{preset}")
    batch = c[1].number_input("Batch size", 1, 10_000, base.batch_size, key=f"train_batch:{preset}")
    lr = c[2].number_input("Learning rate", 1e-6, 1.0, base.lr, format="%.5f", key=f"train_lr:{preset}")
    optimizer = c[3].selectbox("Optimiser", OPTIMIZERS, index=OPTIMIZERS.index(base.optimizer), key=f"train_opt:{preset}")
    c = st.columns(4)
    seed = c[0].number_input("Seed", 0, 2**31 - 1, base.seed, key=f"train_seed:{preset}")
    max_train = c[1].number_input("Training pixels (0 = all)", 0, 10**8, base.max_train_samples or 0,
                                  key=f"train_max:{preset}")
    patience = c[2].number_input("Early-stopping patience, in evaluations (0 = off)", 0, 500, base.patience or 0,
                                 key=f"train_patience:{preset}")
    hparams: dict[str, dict] = {}
    bad_hparams = []
    for name in models:
        spec = get_spec(name)
        st.markdown(f"**{spec.display_name}** — {spec.description}")
        cols = st.columns(4)
        values = {}
        for i, (key, default) in enumerate(spec.default_hparams().items()):
            box = cols[i % 4]
            wkey = f"train_hp:{spec.name}:{key}"
            if isinstance(default, int) and not isinstance(default, bool):
                values[key] = int(box.number_input(key, 1, 10_000, default, key=wkey))
            else:
                text = box.text_input(key, json.dumps(default), key=wkey, help="JSON (null = the model's default)")
                try:
                    values[key] = json.loads(text)
                except json.JSONDecodeError:
                    bad_hparams.append(f"{spec.display_name} {key}")
        hparams[spec.name] = values

budget_key = "max_steps" if base.max_steps is not None else "epochs"
configs = [base.__class__(**{**base.to_dict(), "model": get_spec(m).name, budget_key: int(budget),
                             "batch_size": int(batch), "lr": float(lr), "optimizer": optimizer, "seed": int(seed),
                             "max_train_samples": int(max_train) or None, "patience": int(patience) or None,
                             "hparams": hparams.get(get_spec(m).name, {})})
           for m in models]
label = (f"{preset} preset, " + (f"up to {int(budget):,} steps" if budget_key == "max_steps" else f"{int(budget)} epochs")
         + (f", {int(max_train):,} training pixels" if max_train else ""))


if bad_hparams:
    st.error("Not valid JSON: " + ", ".join(bad_hparams))
if st.button("Train", type="primary", disabled=not models or bool(bad_hparams), key="train_go"):
    try:
        for cfg in configs:
            cfg.validate()
    except McnnSeqError as err:
        st.error(f"Cannot train with these settings: {err}")
    else:
        runs.start_job(TrainingJob(experiment=exp, configs=configs, cube_key=cube.key, label=label))
        st.rerun()


# ----------------------------------------------------------------------------------------- runs

def _run_row(run: runs.Run, active: bool) -> dict:
    m = run.model
    last = m.best_record
    return {"model": run.name, "active": active, "origin": run.origin, "how": run.label,
            "epochs run": round(m.history[-1].epoch, 2) if m.history else 0,
            "best epoch": None if m.best_epoch is None else round(m.best_epoch, 2), "stop": m.stop_reason,
            "val R²": None if last is None else last.val_r2, "val RMSE": None if last is None else last.val_loss ** 0.5,
            "training pixels": m.n_train}


st.subheader("Runs on this dataset")
message = runs.offer_pretrained(cube)
if message:
    st.warning(message)
active = runs.active_runs(cube, selected_only=False)
rows = [_run_row(r, True) for r in active.values()] + [_run_row(r, False) for r in reversed(runs.archive(cube))]
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    pick = st.selectbox("Training curves of", list(active), key="train_curves_of")
    if pick:
        hist = pd.DataFrame([r.to_dict() for r in active[pick].model.history])
        if len(hist):
            st.plotly_chart(plots.training_curves(hist.assign(model=pick), title=f"{pick}: {active[pick].label}"),
                            width="stretch", key="train_run_chart")
else:
    st.info("No trained model on this dataset yet.")


# ----------------------------------------------------------------------------------------- load a model file

with st.expander("Load a saved model file (.pt)"):
    f = st.file_uploader("Model checkpoint written by the Export page or the CLI", type=["pt"], key="train_ckpt")

    def _load_ckpt() -> None:
        up = st.session_state.get("train_ckpt")
        if up is None:
            return
        import tempfile
        from pathlib import Path

        from mcnnseq.checkpoints import check_compatible, load_checkpoint

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getvalue())
            try:
                trained = load_checkpoint(path)
                check_compatible(trained, t_in=cube.ds.sizes["time"], t_out=cube.ds.sizes["time"],
                                 dates=list(cube.ds["time"].values))
            except McnnSeqError as err:
                st.session_state["train_ckpt_msg"] = ("error", f"{err}. Nothing was changed.")
                return
        runs.add_run(cube.key, runs.Run(model=trained, origin="uploaded", label=f"loaded from {up.name}"))
        st.session_state["train_ckpt_msg"] = ("success", f"Loaded {trained.name} from {up.name}.")

    st.button("Load model", on_click=_load_ckpt, disabled=f is None, key="train_ckpt_go")
    msg = st.session_state.get("train_ckpt_msg")
    if msg:
        getattr(st, msg[0])(msg[1])
