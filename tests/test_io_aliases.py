"""Variable and dimension aliases."""

from __future__ import annotations

import pytest

from mcnnseq.errors import DatacubeError
from mcnnseq.io.aliases import find_dim, find_roles, normalize_name, role_of


@pytest.mark.parametrize("name, role", [
    ("VV", "vv"), ("vv", "vv"), ("S1-SIGMA0-VV", "vv"), ("sigma0_vv", "vv"), ("S1-SIGMA0-VH", "vh"),
    ("NDVI", "ndvi"), ("B04", "red"), ("B4", "red"), ("S2-L2A-B04", "red"), ("red", "red"),
    ("B08", "nir"), ("B8", "nir"), ("S2-L2A-B08", "nir"), ("nir", "nir"), ("croptype", "crop"),
    ("label", "crop"), ("SCL", "scl"), ("field_id", "field"), ("s1_date", "s1_time"),
    ("B8A", None), ("slope", None), ("S2-L2A-B05", None),
])
def test_role_of(name, role):
    assert role_of(name) == role


def test_normalize_name():
    assert normalize_name("S1-SIGMA0-VV") == normalize_name("s1_sigma0 vv") == "s1sigma0vv"


def test_find_roles_prefers_canonical_names_and_refuses_ambiguity():
    assert find_roles(["VV", "vv", "VH", "B04", "B08"])["vv"] == "vv"
    with pytest.raises(DatacubeError, match="f.nc: several variables could be 'vv': VV, S1-SIGMA0-VV"):
        find_roles(["VV", "S1-SIGMA0-VV"], source="f.nc")
    assert find_roles(["VV", "S1-SIGMA0-VV"], explicit={"vv": "VV"})["vv"] == "VV"


def test_find_roles_explicit_names_are_checked():
    assert find_roles(["copol"], explicit={"vv": "copol"}) == {"vv": "copol"}
    with pytest.raises(DatacubeError, match="no variable 'copol'"):
        find_roles(["VV"], explicit={"vv": "copol"}, source="f.nc")
    with pytest.raises(ValueError, match="unknown variable role"):
        find_roles(["VV"], explicit={"temperature": "VV"})


def test_find_dim():
    assert find_dim(["t", "y", "x"], "time") == "t"
    assert find_dim(["time", "t"], "time") == "time"
    assert find_dim(["band", "y", "x"], "time") is None
    assert find_dim(["easting", "northing"], "x") == "easting"


def test_true_colour_band_aliases():
    from mcnnseq.io.aliases import find_roles

    roles = find_roles(["S2-L2A-B02", "S2-L2A-B03", "S2-L2A-B04", "S2-L2A-B08", "VV", "VH"])
    assert (roles["blue"], roles["green"], roles["red"], roles["nir"]) == ("S2-L2A-B02", "S2-L2A-B03", "S2-L2A-B04",
                                                                          "S2-L2A-B08")
    assert find_roles(["blue", "green", "red"]) == {"blue": "blue", "green": "green", "red": "red"}
