"""The MCNN-Seq model and its CNN and RNN baselines (torch), behind one contract (see :mod:`.registry`).

The registry also names the classic gap-fillers of :mod:`mcnnseq.baselines` (``linear``, ``whittaker``).
"""

from mcnnseq.errors import ModelConfigError
from mcnnseq.models.cnn import CNNBaseline
from mcnnseq.models.mcnn_seq import MCNNSeq
from mcnnseq.models.registry import (GAP_FILLERS, MODELS, ModelSpec, all_specs, build_gap_filler, build_model,
                                     count_parameters, display_name, get_spec, is_gap_filler)
from mcnnseq.models.rnn import RNNBaseline

__all__ = ["CNNBaseline", "GAP_FILLERS", "MCNNSeq", "MODELS", "ModelConfigError", "ModelSpec", "RNNBaseline",
           "all_specs", "build_gap_filler", "build_model", "count_parameters", "display_name", "get_spec",
           "is_gap_filler"]
