"""mcnnseq.io.cf: the CF-1.9 attributes our NetCDF writer adds, and their exact removal on reading."""

from __future__ import annotations

import numpy as np

from conftest import make_tiny_cube
from mcnnseq.io.cf import GRID_MAPPING, add_cf_metadata, strip_added


def test_added_attributes_and_their_record():
    cube = make_tiny_cube(nt=3, ny=4, nx=5, with_truth=True)
    out = cube.copy()
    for var in out.variables.values():
        var.attrs = dict(var.attrs)
    out.attrs = dict(out.attrs)
    added = add_cf_metadata(out)
    for name, var in out.data_vars.items():
        assert var.attrs["grid_mapping"] == GRID_MAPPING and "units" in var.attrs and "long_name" in var.attrs
    assert out["x"].attrs == {"standard_name": "projection_x_coordinate", "long_name": "x coordinate of projection",
                              "axis": "X", "units": "m"}
    assert out.attrs["Conventions"] == "CF-1.9" and "" in added
    assert "units" in added["cloud"] and "units" not in added["vv"]  # vv had its own units
    assert cube["x"].attrs == {} and "Conventions" not in cube.attrs  # the original is untouched
    strip_added(out, added)
    for name in cube.variables:
        assert out[name].attrs == cube[name].attrs, name
    assert out.attrs == cube.attrs


def test_existing_attributes_are_kept():
    cube = make_tiny_cube(nt=3, ny=4, nx=5)
    cube.attrs["Conventions"] = "CF-1.8"
    cube["x"].attrs["units"] = "metre"
    out = cube.copy()
    for var in out.variables.values():
        var.attrs = dict(var.attrs)
    out.attrs = dict(out.attrs)
    added = add_cf_metadata(out)
    assert out.attrs["Conventions"] == "CF-1.8" and out["x"].attrs["units"] == "metre"
    assert "Conventions" not in added.get("", []) and "units" not in added["x"]
    assert np.array_equal(out["vv"].values, cube["vv"].values, equal_nan=True)
