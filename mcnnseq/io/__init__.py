"""Datacube readers and writers: NetCDF/Zarr cubes, GeoTIFF stacks, S1/S2 date pairing, STAC catalogs,
parcel/point tables.

Every reader returns a cube that passes :func:`mcnnseq.datacube.validate_cube` or raises
:class:`mcnnseq.errors.DatacubeError` naming the file and the problem. See ``docs/data-formats.md``.
"""

from mcnnseq.io.geotiff import open_geotiff_stack, read_geotiff, write_geotiff, write_geotiff_stack
from mcnnseq.io.netcdf import open_cube, write_netcdf, write_zarr
from mcnnseq.io.pairing import pair_cubes, pair_dates
from mcnnseq.io.stac import open_stac
from mcnnseq.io.standardize import DEFAULT_MAX_PIXELS, standardize_cube
from mcnnseq.io.table import open_table, write_table

__all__ = ["DEFAULT_MAX_PIXELS", "open_cube", "open_geotiff_stack", "open_stac", "open_table", "pair_cubes",
           "pair_dates", "read_geotiff", "standardize_cube", "write_geotiff", "write_geotiff_stack", "write_netcdf",
           "write_table", "write_zarr"]
