"""Names under which datacube variables and dimensions turn up in files from other producers.

Matching ignores case and every character that is not a letter or a digit, so ``S1-SIGMA0-VV``,
``s1_sigma0_vv`` and ``S1 Sigma0 VV`` are one name (``s1sigma0vv``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from mcnnseq.errors import DatacubeError

#: role -> accepted names (the first one is the canonical name).
VARIABLE_ALIASES: dict[str, tuple[str, ...]] = {
    "vv": ("vv", "VV", "S1-SIGMA0-VV", "sigma0_vv", "sigma0vv", "s1_vv", "vv_db", "sigma0_vv_db", "VV_dB",
           "gamma0_vv", "S1-GAMMA0-VV", "backscatter_vv"),
    "vh": ("vh", "VH", "S1-SIGMA0-VH", "sigma0_vh", "sigma0vh", "s1_vh", "vh_db", "sigma0_vh_db", "VH_dB",
           "gamma0_vh", "S1-GAMMA0-VH", "backscatter_vh"),
    "ndvi": ("ndvi", "NDVI", "S2-NDVI", "s2_ndvi", "ndvi_s2"),
    "red": ("red", "B04", "B4", "S2-L2A-B04", "S2-B04", "s2_b04", "b04_10m"),
    "green": ("green", "B03", "B3", "S2-L2A-B03", "S2-B03", "s2_b03", "b03_10m"),
    "blue": ("blue", "B02", "B2", "S2-L2A-B02", "S2-B02", "s2_b02", "b02_10m"),
    "nir": ("nir", "B08", "B8", "S2-L2A-B08", "S2-B08", "s2_b08", "b08_10m"),
    "cloud": ("cloud", "clouds", "cloud_mask", "cloudmask", "clouded", "s2_cloud"),
    "scl": ("scl", "SCL", "S2-L2A-SCL", "scene_classification"),
    "crop": ("crop", "croptype", "crop_type", "crop_class", "cropclass", "label", "labels", "class", "cdl"),
    "field": ("field", "field_id", "fieldid", "parcel", "parcel_id"),
    "ndvi_true": ("ndvi_true",),
    "s1_time": ("s1_time", "s1_date", "s1_dates", "time_s1"),
}

#: dimension aliases: canonical -> accepted names.
DIM_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("time", "t", "date", "dates", "times"),
    "y": ("y", "northing"),
    "x": ("x", "easting"),
}

#: Dimension names that mean the grid is geographic (degrees), which a datacube cannot be.
GEOGRAPHIC_DIMS: tuple[str, ...] = ("lat", "lon", "latitude", "longitude", "long")


def normalize_name(name: str) -> str:
    """``'S1-SIGMA0-VV'`` -> ``'s1sigma0vv'``: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _lookup() -> dict[str, str]:
    table = {}
    for role, names in VARIABLE_ALIASES.items():
        for name in names:
            table[normalize_name(name)] = role
    return table


_ROLE_OF = _lookup()


def role_of(name: str) -> str | None:
    """The datacube role (``'vv'``, ``'red'``, ``'crop'``…) a variable or file name stands for, or None."""
    return _ROLE_OF.get(normalize_name(name))


def find_roles(names: Iterable[str], *, source: str | None = None,
               explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map each datacube role to the one name in ``names`` that stands for it.

    ``explicit`` (role -> name) overrides the alias table. A name equal to the canonical role name
    wins over its aliases; two aliases of one role (say ``VV`` and ``S1-SIGMA0-VV``) raise a
    :class:`DatacubeError`, because guessing would silently pick one.
    """
    names = list(names)
    found: dict[str, list[str]] = {}
    for name in names:
        role = role_of(name)
        if role is not None:
            found.setdefault(role, []).append(name)
    roles: dict[str, str] = {}
    explicit = dict(explicit or {})
    for role, candidates in found.items():
        if role in explicit:
            continue
        exact = [c for c in candidates if c == role]
        if exact:
            roles[role] = exact[0]
        elif len(candidates) == 1:
            roles[role] = candidates[0]
        else:
            raise DatacubeError(f"several variables could be '{role}': {', '.join(candidates)}; "
                                f"choose one with names={{'{role}': '…'}}", source=source)
    return apply_explicit_names(roles, explicit, roles_known=VARIABLE_ALIASES, found=names, kind="variable",
                                source=source)


def apply_explicit_names(roles: dict[str, str], explicit: Mapping[str, str], *, roles_known: Iterable[str],
                         found: Iterable[str], kind: str, source: str | None) -> dict[str, str]:
    """``roles`` with the user's ``names=`` choices (role -> name) set over the detected ones.

    ``kind`` ("variable", "column") words the errors: :class:`ValueError` for a role not in ``roles_known``,
    :class:`DatacubeError` (naming ``source``) for a name not among ``found``.
    """
    roles_known, found = list(roles_known), list(found)
    for role, name in explicit.items():
        if role not in roles_known:
            raise ValueError(f"names: unknown {kind} role {role!r}; roles are {', '.join(roles_known)}")
        if name not in found:
            raise DatacubeError(f"names={{'{role}': '{name}'}} but there is no {kind} '{name}' "
                                f"(found: {', '.join(found) or 'none'})", source=source)
        roles[role] = name
    return roles


def find_dim(dims: Iterable[str], canonical: str) -> str | None:
    """The one dimension in ``dims`` standing for ``canonical`` (``'time'``, ``'y'``, ``'x'``), or None."""
    dims = list(dims)
    if canonical in dims:
        return canonical
    wanted = {normalize_name(a) for a in DIM_ALIASES[canonical]}
    matches = [d for d in dims if normalize_name(d) in wanted]
    return matches[0] if len(matches) == 1 else None
