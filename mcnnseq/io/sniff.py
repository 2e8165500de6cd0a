"""Tell what a file really is from its first bytes, so a wrong file gets a clear message, not a traceback."""

from __future__ import annotations

from pathlib import Path

from mcnnseq.errors import DatacubeError

_HDF5 = b"\x89HDF\r\n\x1a\n"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"CDF\x01", "netcdf3"), (b"CDF\x02", "netcdf3"), (b"CDF\x05", "netcdf"), (_HDF5, "netcdf"),
    (b"II*\x00", "geotiff"), (b"MM\x00*", "geotiff"), (b"II+\x00", "geotiff"), (b"MM\x00+", "geotiff"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (unzip it first)"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"), (b"BZh", "a bzip2 archive (decompress it first)"),
    (b"\xfd7zXZ\x00", "an xz archive (decompress it first)"),
)
_ZARR_MARKERS = ("zarr.json", ".zgroup", ".zmetadata", ".zattrs")


def _describe_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut off by the 4 KB read
            return None
        text = head[:exc.start].decode("utf-8")
    if any(ch < " " and ch not in "\r\n\t" for ch in text):
        return None
    if text.startswith("version https://git-lfs"):
        return "a Git LFS pointer, not the data itself (fetch it with 'git lfs pull')"
    first = text.strip().splitlines()[0][:40] if text.strip() else ""
    return f"a text file (it starts with {first!r})"


def sniff(path: Path) -> str:
    """``'netcdf'`` (NetCDF4/HDF5, CDF5), ``'netcdf3'`` (classic, 64-bit offset), ``'zarr'`` or
    ``'geotiff'`` for ``path``; raise :class:`DatacubeError` for anything else.

    Looks at the first bytes (and HDF5 user-block offsets 512, 1024, 2048…), never at the suffix, so
    a PNG renamed ``.nc`` is caught. A folder is a Zarr store if it holds ``zarr.json``, ``.zgroup``,
    ``.zmetadata`` or ``.zattrs``.
    """
    source = path.name or str(path)
    if not path.exists():
        raise DatacubeError(f"does not exist (looked for {path})", source=source)
    if path.is_dir():
        if any((path / m).exists() for m in _ZARR_MARKERS):
            return "zarr"
        tifs = sorted(p.name for p in path.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
        hint = f"; it holds GeoTIFFs ({', '.join(tifs[:4])}): read them with open_geotiff_stack" if tifs else ""
        raise DatacubeError(f"is a folder but not a Zarr store (no {' / '.join(_ZARR_MARKERS)} inside){hint}",
                            source=source)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise DatacubeError(f"cannot be read ({exc.strerror or exc})", source=source) from None
    if not head:
        raise DatacubeError("is empty (0 bytes)", source=source)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind in ("netcdf", "netcdf3", "geotiff"):
                return kind
            raise DatacubeError(f"is {kind}, not a datacube (NetCDF, Zarr or GeoTIFF)", source=source)
    offset = 512
    while offset < len(head):
        if head[offset:offset + len(_HDF5)] == _HDF5:
            return "netcdf"
        offset *= 2
    text = _describe_text(head)
    if text:
        raise DatacubeError(f"is {text}, not a datacube (NetCDF, Zarr or GeoTIFF)", source=source)
    raise DatacubeError(f"is not a NetCDF, Zarr or GeoTIFF file (unknown format, first bytes {head[:8]!r})",
                        source=source)
