"""``python -m mcnnseq …`` — see :mod:`mcnnseq.cli`."""

from mcnnseq.cli import main

raise SystemExit(main())
