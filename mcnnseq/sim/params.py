"""The tunable knobs of the demo-scene simulator, with their defaults and where each value comes from.

Crop-specific tables (phenology, water-cloud structure factors) live next to the code that uses them
(:mod:`mcnnseq.sim.phenology`, :mod:`mcnnseq.sim.radar`); ``docs/simulator.md`` lists all of them.
Changing a default changes the simulated data: bump :data:`SIMULATOR_VERSION` when you do.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

#: Bump whenever the arrays produced for a given (size, seed, scenario, params) change.
#: Pretrained demo models store it and refuse to be scored against another version's scene.
SIMULATOR_VERSION = "1.0"

#: Scenario name -> target fraction of pixels with at least one missing NDVI date (paper §2.2.4).
SCENARIOS: dict[str, float] = {"none": 0.0, "50%": 0.50, "70%": 0.70}


@dataclass(frozen=True)
class SimParams:
    """Every scalar knob of the simulator (units in the names or the comments)."""

    # --- layout (scene.py) ------------------------------------------------------------------
    #: Table 1 column whose class proportions the scene follows ("subarea2": the 4 km x 4 km subarea).
    proportions_from: str = "subarea2"
    #: Section-line road/canal grid spacing in pixels (1 mile = 1609 m, PLSS sections).
    road_spacing_px: int = 161
    #: Width of a road + canal strip in pixels (non-crop land, field id 0).
    road_width_px: int = 2

    # --- phenology (phenology.py) -----------------------------------------------------------
    #: Per-field planting/harvest date jitter, standard deviation in days.
    field_shift_days: float = 10.0
    #: Per-field multiplicative jitter of the seasonal NDVI amplitude (std).
    field_vigor_std: float = 0.06
    #: Per-pixel date jitter (std, days) and multiplicative vigour jitter (std) inside a field.
    pixel_shift_days: float = 2.5
    pixel_vigor_std: float = 0.04
    #: Spatially smooth within-field vigour variation (std) and its length scale in pixels.
    smooth_vigor_std: float = 0.05
    smooth_vigor_px: float = 4.0
    #: Vigour of the outermost pixel ring of a field (mixed pixels with the road/ditch).
    edge_vigor: float = 0.85

    # --- optical (simulate.py) --------------------------------------------------------------
    #: Per-pixel, per-date NDVI noise (std): atmospheric-correction residuals, BRDF, geolocation.
    optical_noise_std: float = 0.02
    #: Per-date scene-wide NDVI offset (std).
    optical_date_bias_std: float = 0.01

    # --- radar (radar.py) -------------------------------------------------------------------
    #: Incidence angle at the scene centre (deg) and its gradient across the swath (deg per km,
    #: growing westward for the descending, right-looking pass): IW swath 29-46 deg over 250 km.
    incidence_center_deg: float = 38.0
    incidence_gradient_deg_per_km: float = 0.068
    #: Equivalent number of looks of the multiplicative gamma speckle.
    speckle_looks: float = 7.0
    #: Dry desert topsoil moisture (vol %) and its per-field spread (std).
    soil_moisture_dry: float = 5.0
    soil_moisture_dry_std: float = 1.5
    #: Topsoil moisture right after a flood/furrow irrigation (vol %).
    soil_moisture_wet: float = 36.0
    #: Per-pixel, per-date soil-moisture noise (std, vol %): uneven wetting, texture.
    soil_moisture_noise: float = 2.0
    #: e-folding dry-down time of the topsoil after wetting (days), mean and seasonal amplitude
    #: (slowest mid-January, fastest mid-July).
    drydown_days: float = 4.0
    drydown_amplitude_days: float = 2.0
    #: Irrigation interval range per field (days).
    irrigation_interval_days: tuple[float, float] = (8.0, 16.0)
    #: Rain events (days since 2018-01-01) that wet every soil, and the moisture they add (vol %).
    rain_days: tuple[float, ...] = (36.0, 340.0)
    rain_moisture: float = 14.0
    #: Static soil roughness offsets (dB): per field (std) and per pixel (std).
    roughness_field_db: float = 1.5
    roughness_pixel_db: float = 0.7
    #: Delay (days) of canopy water content behind NDVI in annual crops (radar.LAGGED_CLASSES).
    biomass_lag_days: float = 10.0
    #: Per-field spread of the vegetation water content per unit LAI (multiplicative std).
    vwc_field_std: float = 0.15

    # --- clouds (clouds.py) -----------------------------------------------------------------
    #: Fraction of the scene width lost in the acquisition stripe of 2018-12-02.
    stripe_fraction: float = 0.25
    #: Stripe tilt from north (deg), like the edge of a Sentinel-2 swath.
    stripe_tilt_deg: float = 12.0
    #: Cloud length scales (pixels): a random scale in this range per cloudy date, plus fine texture.
    cloud_scale_px: tuple[float, float] = (12.0, 35.0)
    cloud_texture_px: float = 3.0
    #: Cloud-shadow displacement (rows, cols): shadows fall north-west of clouds (sun in the south-east).
    shadow_offset_px: tuple[int, int] = (-18, -18)

    def to_json(self) -> str:
        """The parameters as a JSON string (stored in the cube's attrs)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SimParams":
        data = json.loads(text)
        for key, value in list(data.items()):
            if isinstance(value, list):
                data[key] = tuple(value)
        return cls(**data)
