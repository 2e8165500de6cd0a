"""MCNN-Seq Studio core: fill the cloud gaps of Sentinel-2 NDVI time series from Sentinel-1 radar.

The core imports no Streamlit. Heavy modules (torch) are imported only by the submodules that need them.
"""

from mcnnseq.errors import CheckpointError, DatacubeError, McnnSeqError

__version__ = "0.1.0"
__all__ = ["CheckpointError", "DatacubeError", "McnnSeqError", "__version__"]
