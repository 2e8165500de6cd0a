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
SIMULATOR_VERSION = "2.0"

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
    #: Non-crop land that is not bare (heterogeneity.non_crop_cover): share of the non-crop fields that
    #: are farmsteads (buildings, trees), and shares of the road/canal strip pixels that are open water
    #: (canals, drains) and bank vegetation.
    farmstead_fraction: float = 0.3
    canal_fraction: float = 0.25
    bank_tree_fraction: float = 0.1

    # --- phenology (phenology.py) -----------------------------------------------------------
    #: Per-field planting/harvest date jitter, standard deviation in days: the low-desert planting
    #: windows of one crop span 4-8 weeks (e.g. sugar beet September-October, wheat December-January).
    field_shift_days: float = 15.0
    #: Per-field change of the season length (std, days) on the harvest/senescence dates only:
    #: early and late varieties, harvest scheduling.
    season_length_std_days: float = 7.0
    #: Per-field multiplicative jitter of the seasonal NDVI amplitude (std).
    field_vigor_std: float = 0.06
    #: Per-pixel date jitter (std, days) and multiplicative vigour jitter (std) inside a field.
    pixel_shift_days: float = 2.5
    pixel_vigor_std: float = 0.04
    #: Harvests and cuts sweep across a field over days (heterogeneity.HARVEST_SWEEP_DAYS per class).
    harvest_sweep: bool = True
    #: Spatially smooth within-field vigour variation (std) and its length scale in pixels.
    smooth_vigor_std: float = 0.05
    smooth_vigor_px: float = 6.0
    #: Within-field patches (same length scale) that change the greenness seen by the optics (leaf
    #: chlorophyll, cover: nitrogen, salinity, weeds) but not the canopy water, and patches that change
    #: the canopy water but not the saturated NDVI (plant density, biomass), std of the factor.
    pixel_greenness_std: float = 0.2
    pixel_biomass_std: float = 0.25
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
    #: Equivalent number of looks of the multiplicative gamma speckle: the IW GRDH product's ENL
    #: (Sentinel-1 User Handbook), as in the paper's Earth Engine S1_GRD input (no speckle filter).
    speckle_looks: float = 4.4
    #: Noise-equivalent sigma0 of the IW product (dB; requirement <= -22 dB, a few dB lower across
    #: most of the swath). Thermal-noise removal subtracts its mean but not its fluctuation, which
    #: swamps dark targets (VH over bare soil); None: no thermal noise.
    nesz_db: float | None = -25.0
    #: Point-spread functions, full width at half maximum (m): Sentinel-1 IW GRDH resolution 20 m x
    #: 22 m on 10 m pixels; Sentinel-2 10 m bands (MTF about 0.15-0.3 at Nyquist). A pixel at a field
    #: edge mixes its neighbours, the radar more than the optics.
    s1_psf_fwhm_m: float = 21.0
    s2_psf_fwhm_m: float = 12.0
    #: Per-date geolocation error, std per axis (m), so that the two sensors see edge pixels as
    #: different mixtures: Sentinel-1 GRD a few metres; Sentinel-2 L1C before the Global Reference
    #: Image (2018) about 11 m at 95 % (2-D), i.e. 4.5 m per axis.
    s1_geolocation_std_m: float = 2.5
    s2_geolocation_std_m: float = 4.5
    #: Dry desert topsoil moisture (vol %) and its per-field spread (std).
    soil_moisture_dry: float = 5.0
    soil_moisture_dry_std: float = 1.5
    #: Topsoil moisture right after a flood/furrow irrigation (vol %), and its per-field spread (std):
    #: the valley's soils range from silty clays to loamy fine sands (NRCS soil survey).
    soil_moisture_wet: float = 36.0
    soil_moisture_wet_std: float = 5.0
    #: Per-pixel, per-date soil-moisture noise (std, vol %): uneven wetting, texture.
    soil_moisture_noise: float = 4.0
    #: e-folding dry-down time of the topsoil after wetting (days), mean and seasonal amplitude
    #: (slowest mid-January, fastest mid-July).
    drydown_days: float = 4.0
    drydown_amplitude_days: float = 2.0
    #: Irrigation interval range per field (days).
    irrigation_interval_days: tuple[float, float] = (8.0, 16.0)
    #: A field is irrigated in sets, one after another over U(lo, hi) days in all (days), and within a
    #: set the water advances from the head ditch to the tail in ``irrigation_advance_days``.
    irrigation_set_days: tuple[float, float] = (1.0, 3.0)
    irrigation_advance_days: float = 0.3
    #: Within-field soil texture: the pixel's dry and wet moisture times (1 + std x a smooth field of
    #: ``soil_texture_px`` pixels).
    soil_texture_std: float = 0.25
    soil_texture_px: float = 5.0
    #: Rain events (days since 2018-01-01) that wet every soil, and the moisture they add (vol %):
    #: winter fronts (January-March, December), monsoon storms (August-September), a tropical-storm
    #: remnant (early October). Illustrative dates, not 2018's weather records.
    rain_days: tuple[float, ...] = (12.0, 36.0, 64.0, 236.0, 250.0, 276.0, 340.0)
    rain_moisture: float = 14.0
    #: Spatial variation of each event's rain (coefficient of variation) and its length scale (px):
    #: convective and frontal rain cells of a few km.
    rain_spatial_cv: float = 0.5
    rain_scale_px: float = 150.0
    #: Static soil roughness offsets (dB): per field (std: clod size, crusting; row direction and
    #: tillage are modelled on their own) and per pixel (std).
    roughness_field_db: float = 0.75
    roughness_pixel_db: float = 0.7
    #: Delay (days) of canopy water content behind NDVI in annual crops (radar.LAGGED_CLASSES).
    biomass_lag_days: float = 10.0
    #: The lag varies per field within biomass_lag_days x (1 +- spread), uniformly.
    biomass_lag_spread: float = 0.5
    #: Per-field spread of the vegetation water content per unit LAI (multiplicative std): variety,
    #: plant density, leaf angle (NDVI saturates near LAI 3 while biomass keeps growing).
    vwc_field_std: float = 0.3
    #: Per-field spread of the water-cloud scattering and attenuation factors A and B (log std, the
    #: two polarisations correlated 0.5): canopy architecture of varieties and cultivation.
    structure_field_std: float = 0.25
    #: Beds of the bedded crops (onion, corn, sugar beet, vegetables) facing the radar (rows N-S,
    #: across the descending pass's westward look) brighten the soil term (dB: VV, VH), times a
    #: per-field U(0.5, 1.5) for bed height and spacing.
    row_effect_db: tuple[float, float] = (3.0, 2.0)
    #: Tillage (seedbed preparation before planting, disking after harvest) roughens the soil by
    #: this much (dB, times a per-event U(0.5, 1.5)), slaking back with e-folding time in days.
    tillage_roughness_db: float = 3.0
    tillage_decay_days: float = 40.0
    #: Dew on irrigated canopies at the ~06:00 local descending overpass raises the vegetation
    #: scattering by this much (dB); probability per field and date in winter and in summer.
    dew_db: float = 1.5
    dew_probability: tuple[float, float] = (0.5, 0.1)

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
