"""Domain exceptions of MCNN-Seq Studio.

Every error a user can cause carries the *source* (a file name, or ``"demo scene"``) and, where it
applies, the *variable*, so that the message alone tells the user what to fix.
"""

from __future__ import annotations


class McnnSeqError(Exception):
    """Base class of every error raised on purpose by :mod:`mcnnseq`."""


class DatacubeError(McnnSeqError, ValueError):
    """A datacube (or a file meant to become one) breaks the convention of :mod:`mcnnseq.datacube`.

    The message reads ``"<source>: variable '<variable>': <problem>"`` (parts omitted when unknown).
    """

    def __init__(self, problem: str, *, source: str | None = None, variable: str | None = None):
        self.problem = problem
        self.source = source
        self.variable = variable
        parts = []
        if source:
            parts.append(str(source))
        if variable:
            parts.append(f"variable '{variable}'")
        parts.append(problem)
        super().__init__(": ".join(parts))

    def with_source(self, source: str) -> "DatacubeError":
        """The same error, naming ``source`` (used by readers that validate after opening a file)."""
        if self.source:
            return self
        return DatacubeError(self.problem, source=source, variable=self.variable)


class CheckpointError(McnnSeqError, ValueError):
    """A model checkpoint is corrupt, foreign, stale, or does not fit the data it is used on."""

    def __init__(self, problem: str, *, source: str | None = None):
        self.problem = problem
        self.source = source
        super().__init__(f"{source}: {problem}" if source else problem)


class ModelConfigError(McnnSeqError, ValueError):
    """A model or training configuration is invalid (unknown model, bad hyper-parameter, T_out != T for RNN)."""


class ClusterError(McnnSeqError, RuntimeError):
    """A Dask cluster cannot be reached or used (bad scheduler address, no workers)."""

    def __init__(self, problem: str, *, source: str | None = None):
        self.problem = problem
        self.source = source
        super().__init__(f"{source}: {problem}" if source else problem)
