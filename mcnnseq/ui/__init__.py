"""The dashboard's small UI layer: session state, caching, maps and plots for ``app.py`` and ``pages/``.

This is the only part of :mod:`mcnnseq` that may import Streamlit, and only in the modules that draw
(:mod:`~mcnnseq.ui.state`, :mod:`~mcnnseq.ui.cache`, :mod:`~mcnnseq.ui.maps`, :mod:`~mcnnseq.ui.widgets`).
:mod:`~mcnnseq.ui.raster`, :mod:`~mcnnseq.ui.plots` and :mod:`~mcnnseq.ui.upload` are plain Python and
are tested without a running app. ``import mcnnseq`` never imports this package.
"""
