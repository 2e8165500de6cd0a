"""The MCNN-Seq model and its CNN and RNN baselines (torch), behind one contract (see :mod:`.registry`)."""

from mcnnseq.errors import ModelConfigError
from mcnnseq.models.cnn import CNNBaseline
from mcnnseq.models.mcnn_seq import MCNNSeq
from mcnnseq.models.registry import MODELS, ModelSpec, build_model, count_parameters, display_name, get_spec
from mcnnseq.models.rnn import RNNBaseline

__all__ = ["CNNBaseline", "MCNNSeq", "MODELS", "ModelConfigError", "ModelSpec", "RNNBaseline", "build_model",
           "count_parameters", "display_name", "get_spec"]
