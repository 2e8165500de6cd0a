"""The dashboard's UI layer for ``app.py`` and ``pages/``: the only part of :mod:`mcnnseq` that imports Streamlit.

Everything a page shows is computed by the session's :class:`mcnnseq.workspace.Workspace`; this
package draws it. Modules that draw: :mod:`~mcnnseq.ui.state` (this session's workspace, remembered
widget choices), :mod:`~mcnnseq.ui.sidebar`, :mod:`~mcnnseq.ui.page` (what every page starts with),
:mod:`~mcnnseq.ui.runs` (training job, warm-up, progress bars), :mod:`~mcnnseq.ui.cache` (server-wide
caches), :mod:`~mcnnseq.ui.maps`. Plain Python, tested without a running app: :mod:`~mcnnseq.ui.plots`,
:mod:`~mcnnseq.ui.raster`, :mod:`~mcnnseq.ui.truecolor`, :mod:`~mcnnseq.ui.upload`,
:mod:`~mcnnseq.ui.exports`, :mod:`~mcnnseq.ui.jobs`, :mod:`~mcnnseq.ui.labels`, :mod:`~mcnnseq.ui.presets`.
``import mcnnseq`` never imports this package.
"""
