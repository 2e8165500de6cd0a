"""Telling file formats apart by content, not by suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcnnseq.errors import DatacubeError
from mcnnseq.io.sniff import sniff

DATA = Path(__file__).parent / "data"


def test_known_formats(tmp_path):
    assert sniff(DATA / "s1s2_aliases.nc") == "netcdf"
    assert sniff(DATA / "classic_db.nc") == "netcdf3"
    assert sniff(DATA / "stack_described" / "vv.tif") == "geotiff"
    renamed = tmp_path / "cube.dat"
    renamed.write_bytes((DATA / "s1s2_aliases.nc").read_bytes())
    assert sniff(renamed) == "netcdf"
    store = tmp_path / "store.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    assert sniff(store) == "zarr"


def test_hdf5_behind_a_user_block(tmp_path):
    path = tmp_path / "userblock.h5"
    path.write_bytes(bytes(512) + b"\x89HDF\r\n\x1a\n" + bytes(64))
    assert sniff(path) == "netcdf"


@pytest.mark.parametrize("content, phrase", [
    (b"\xff\xd8\xff\xe0" + bytes(32), "JPEG image"),
    (b"%PDF-1.7\n", "PDF document"),
    (b"\x1f\x8b\x08" + bytes(32), "gzip archive"),
    ("température,vv\n".encode() * 400, "text file"),  # multi-byte characters across the 4 KB boundary
])
def test_wrong_formats(tmp_path, content, phrase):
    path = tmp_path / "input.nc"
    path.write_bytes(content)
    with pytest.raises(DatacubeError, match=f"input.nc: is .*{phrase}"):
        sniff(path)


def test_folder_of_geotiffs_points_to_the_stack_reader(tmp_path):
    (tmp_path / "vv.tif").write_bytes(b"II*\x00")
    with pytest.raises(DatacubeError, match="open_geotiff_stack"):
        sniff(tmp_path)
