"""Train page: choose models, a preset and hyper-parameters, train with live curves (Fig. 12), manage the runs."""

import pandas as pd
import streamlit as st

from mcnnseq.errors import McnnSeqError
from mcnnseq.ui import exports, labels, page, plots, presets, runs, state

ws, cube = page.start("Train")
if cube.demo is None:
    c1, c2 = st.columns(2)
    protocols = {"real": "real clouds (default): pixels with complete radar and enough clear NDVI dates",
                 "paper": "paper: only pixels with a clear NDVI value on every observed date"}
    splits = {"random": "random pixels", "blocked": "spatially blocked: square blocks go wholly to one set"}
    if cube.is_points:  # a table's points have no grid: blocks of consecutive ids would not be places
        splits = {"random": "random points (a table's points have no grid to cut into blocks)"}
    chosen = ws.protocol()
    protocol = c1.radio("Samples (protocol)", list(protocols), format_func=protocols.get,
                        help="Which pixels train, validate and test. Real clouds: the loss and the scores skip what "
                             "is missing, and a date seen on few pixels never decides. Paper: §2.2.4, complete "
                             "series only.",
                        **state.remember(f"train_protocol:{cube.key}", chosen.protocol, options=list(protocols)))
    split = c2.radio("Split", list(splits), format_func=splits.get,
                     help="Blocked: neighbouring pixels (the same field) never sit on both sides of the split, "
                          "so the test scores say how the model does on places it never saw.",
                     **state.remember(f"train_split:{cube.key}", chosen.split, options=list(splits)))
    ws.set_protocol(protocol, split)
else:
    st.caption("The demo scene follows the paper's protocol (complete pixels, random split): its comparison with "
               "the paper and its shipped models need it. Load a file on the **Data** page to choose another.")
exp = page.or_stop("This dataset cannot be used for training", ws.experiment)
facts = ws.split_facts()
if facts.warning:
    st.warning(facts.warning[:1].upper() + facts.warning[1:], icon=":material/warning:")
c = st.columns(4)
c[0].metric("Training pixels", f"{facts.sizes['train']:,}")
c[1].metric("Validation pixels", f"{facts.sizes['val']:,}")
c[2].metric("Test pixels", f"{facts.sizes['test']:,}")
c[3].metric("Dates", facts.n_dates)
st.caption(facts.text())

job = runs.job()


@st.fragment(run_every=1.0)
def _live() -> None:
    j = runs.running_job_progress()
    if j is None:
        return
    hist = j.history()
    if len(hist):
        st.plotly_chart(plots.training_curves(hist, title=f"Training curves — {j.label}"), width="stretch",
                        key="train_live_chart")
    st.button("Stop training", on_click=j.stop, disabled=j.stopping, key="train_stop", type="primary",
              help="Stops before the next batch; the best validation point so far of the model in training is kept.")


if job is not None and job.running:
    if job.cube_key != cube.key:
        st.info(f"A training run on another dataset is in progress ({job.label}).")
    _live()
    st.stop()

if job is not None and job.cube_key == cube.key and job.harvested is not None:
    took = (job.finished or job.started) - job.started
    made = [ws.run(i).name for i in job.harvested if i in {r.id for r in ws.runs()}]
    if job.status == "failed":
        st.error(f"Training failed: {job.error}")
    elif job.status == "stopped":
        st.warning(f"Training stopped after {took:.0f} s; new runs: {', '.join(made) or 'none'}.")
    else:
        st.success(f"Trained in {took:.0f} s — new runs: {', '.join(made)} ({job.label}).")
    hist = job.history()
    if len(hist):
        st.plotly_chart(plots.training_curves(hist, title=f"Training curves — {job.label}"), width="stretch",
                        key="train_done_chart")


# ----------------------------------------------------------------------------------------- settings

from mcnnseq.models.registry import GAP_FILLERS, MODELS, build_gap_filler  # noqa: E402  (torch once needed)
from mcnnseq.training import OPTIMIZERS  # noqa: E402
from torch import nn  # noqa: E402

trainable = {spec.display_name: spec for spec in MODELS.values() if issubclass(spec.cls, nn.Module)}
available = presets.training_presets()

st.subheader("New training run")
names = list(trainable)
models = st.multiselect("Models", names, **state.remember("train_models", names, options=names, multi=True))
preset_name = st.radio("Preset", list(available), horizontal=True,
                       format_func=lambda p: f"{available[p].title}: {available[p].describe()}",
                       **state.remember("train_preset", presets.first_choice(available), options=list(available)))
preset = available[preset_name]
base = preset.config()
with st.expander("Hyper-parameters", expanded=False):
    p = f"train:{preset_name}"
    c = st.columns(4)
    if preset.budget_key == "max_steps":  # default, quick: a budget in optimiser steps
        budget = c[0].number_input("Optimiser steps (at most)", 1, 10_000_000,
                                   help="The run stops earlier when validation stops improving (patience).",
                                   **state.remember(f"{p}:steps", base.max_steps))
    else:  # paper: a budget in epochs
        budget = c[0].number_input("Epochs", 1, 10_000, **state.remember(f"{p}:epochs", base.epochs))
    settings = {
        preset.budget_key: budget,
        "batch_size": c[1].number_input("Batch size", 1, 100_000, **state.remember(f"{p}:batch", base.batch_size)),
        "lr": c[2].number_input("Learning rate", 1e-6, 1.0, format="%.5f", **state.remember(f"{p}:lr", base.lr)),
        "optimizer": c[3].selectbox("Optimiser", OPTIMIZERS, format_func=presets.OPTIMIZER_TITLES.get,
                                    **state.remember(f"{p}:opt", base.optimizer, options=list(OPTIMIZERS))),
    }
    c = st.columns(4)
    settings["seed"] = c[0].number_input("Seed", 0, 2**31 - 1, **state.remember(f"{p}:seed", base.seed))
    settings["max_train_samples"] = c[1].number_input(
        "Training pixels (0 = all)", 0, 10**8, **state.remember(f"{p}:max", base.max_train_samples or 0))
    every = f"every {base.eval_every:,} steps" if base.eval_every else "every epoch"
    settings["patience"] = c[2].number_input(
        "Early-stopping patience, validations (0 = off)", 0, 10_000,
        help=f"Stop when this many validations in a row ({every}) bring no progress; the best weights are kept.",
        **state.remember(f"{p}:patience", base.patience or 0))
    settings = {k: (int(v) if k not in ("lr", "optimizer") else v) for k, v in settings.items()}
    settings["lr"] = float(settings["lr"])
    hparams: dict[str, dict] = {}
    bad: list[str] = []
    for name in models:
        spec = trainable[name]
        st.markdown(f"**{spec.display_name}** — {spec.description}")
        cols = st.columns(4)
        values = {}
        for i, (key, default) in enumerate(spec.default_hparams().items()):
            box, label, help_ = cols[i % 4], labels.hparam_label(key), labels.hparam_help(key)
            wkey = f"train_hp:{spec.name}:{key}"
            if isinstance(default, bool):
                values[key] = box.checkbox(label, help=help_, **state.remember(wkey, default))
            elif isinstance(default, int) or default is None:
                values[key] = box.number_input(label, min_value=1, max_value=100_000, step=1, help=help_,
                                               placeholder="model default", **state.remember(wkey, default))
            elif isinstance(default, float):
                values[key] = box.number_input(label, help=help_, format="%.5g", **state.remember(wkey, default))
            elif isinstance(default, (list, tuple)):
                text = box.text_input(label, help=help_, **state.remember(wkey, ", ".join(map(str, default))))
                try:
                    values[key] = labels.parse_int_list(text)
                except ValueError as err:
                    bad.append(f"{spec.display_name} “{label}”: {err}")
            else:
                values[key] = box.text_input(label, help=help_, **state.remember(wkey, str(default)))
        hparams[spec.name] = values

if bad:
    st.error("Check the hyper-parameters: " + "; ".join(bad))
if st.button("Train", type="primary", disabled=not models or bool(bad), key="train_go"):
    try:
        configs = presets.build_configs(preset, [trainable[m].name for m in models], settings=settings,
                                        hparams=hparams)
    except McnnSeqError as err:
        st.error(f"Cannot train with these settings: {err}")
    else:
        runs.start_training(ws, configs, preset=preset.name, label=presets.run_label(preset, configs[0]))
        st.rerun()

st.subheader("Classic gap-fillers (no training)")
st.caption("Linear interpolation in time and the Whittaker smoother fill each pixel's gaps from its own clear NDVI "
           "observations (no radar, no training). They are runs of every dataset (“Linear · classic”, “Whittaker · "
           "classic”), unticked at first: tick them in the sidebar to compare them with the networks. They are scored "
           "leave-one-date-out: each observed date is predicted with that date hidden.")
cols = st.columns(max(len(GAP_FILLERS), 1))
for i, (key, spec) in enumerate(GAP_FILLERS.items()):
    if cols[i].button(f"Add another {spec.display_name} run", key=f"train_classic:{key}", help=spec.description):
        ws.add_run(build_gap_filler(key, dates=cube.ds["time"].values), preset="classic", origin="classic",
                   description=spec.description)
        st.rerun()


# ----------------------------------------------------------------------------------------- runs

st.subheader("Runs on this dataset")
message = ws.offer_shipped()
if message:
    st.warning(message)
all_runs = ws.runs()
if not all_runs:
    st.info("No run on this dataset yet.")
else:
    table = pd.DataFrame([r.facts() for r in all_runs])
    table.insert(1, "compared", [r.id in {t.id for t in ws.ticked()} for r in all_runs])
    st.dataframe(table.style.format({"val R²": "{:.3f}", "val RMSE": "{:.3f}", "training pixels": "{:,.0f}",
                                     "steps run": "{:,.0f}", "best step": "{:,.0f}",
                                     "best epoch": "{:.2f}", "epochs run": "{:.2f}"}, na_rep="—"),
                 hide_index=True, width="stretch", key="train_runs_table")
    ids = [r.id for r in all_runs]
    pick = st.selectbox("Run", ids, format_func=lambda i: ws.run(i).name,
                        **state.remember(f"train_pick:{cube.key}", ids[-1], options=ids))
    run = ws.run(pick)

    def _rename() -> None:
        try:
            ws.rename_run(pick, st.session_state.get("train_new_name", ""))
        except ValueError as err:
            st.session_state["train_run_msg"] = ("error", str(err))
        else:
            st.session_state["train_run_msg"] = ("success", f"Renamed to “{ws.run(pick).name}”.")

    def _remove() -> None:
        name = ws.run(pick).name
        ws.remove_run(pick)
        st.session_state["train_run_msg"] = ("success", f"Removed “{name}”.")

    c1, c2, c3, c4 = st.columns([3, 1, 1, 2], vertical_alignment="bottom")
    c1.text_input("New name", placeholder=run.name, key="train_new_name")
    c2.button("Rename", on_click=_rename, key="train_rename", width="stretch")
    c3.button("Remove", on_click=_remove, key="train_remove", width="stretch",
              help="Removes the run and its results from this session (a shipped model stays on disk).")
    if run.checkpointable:
        c4.download_button("Model file (.pt)", data=lambda: exports.checkpoint_bytes(run.model, name="model.pt"),
                           file_name=exports.file_name(cube.file_stem, run.name, suffix=".pt"),
                           mime="application/octet-stream", on_click="ignore", key="train_run_pt",
                           icon=":material/download:", width="stretch")
    msg = st.session_state.pop("train_run_msg", None)
    if msg:
        getattr(st, msg[0])(msg[1])
    hist = run.history()
    if len(hist):
        st.plotly_chart(plots.training_curves(hist, title=f"{run.name}: {run.description}"), width="stretch",
                        key="train_run_chart")


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
        new = ws.add_run(trained, preset=f"from {up.name}", origin="file", description=f"loaded from {up.name}")
        st.session_state["train_ckpt_msg"] = ("success", f"Loaded {trained.name} from {up.name} as “{new.name}”.")

    st.button("Load model", on_click=_load_ckpt, disabled=f is None, key="train_ckpt_go")
    msg = st.session_state.get("train_ckpt_msg")
    if msg:
        getattr(st, msg[0])(msg[1])
