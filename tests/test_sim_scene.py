"""Layout of the simulated scene: grid, rectangular fields, Table 1 class proportions."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from mcnnseq.paper import CROP_CLASSES
from mcnnseq.sim.scene import CENTER_LATLON, NON_CROP, class_proportions, grid_coords, make_layout


@pytest.fixture(scope="module")
def layout400():
    return make_layout(400, 400, rng=np.random.default_rng(0))


@pytest.mark.parametrize("column", ["subarea1", "subarea2"])
def test_class_proportions_sum_to_one_and_cover_all_classes(column):
    props = class_proportions(column)
    assert set(props) == set(CROP_CLASSES)
    assert sum(props.values()) == pytest.approx(1.0)


def test_class_proportions_rejects_unknown_column():
    with pytest.raises(ValueError, match="subarea"):
        class_proportions("subarea3")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_400_scene_follows_table1_proportions(seed):
    layout = make_layout(400, 400, rng=np.random.default_rng(seed))
    target = class_proportions("subarea2")
    for code, frac in target.items():
        assert abs((layout.crop == code).mean() - frac) < 0.02, CROP_CLASSES[code]


def test_fields_are_rectangles_of_one_class(layout400):
    field, crop = layout400.field, layout400.crop
    ids = np.unique(field[field > 0])
    assert ids.size == layout400.n_fields
    for fid in ids:
        rows, cols = np.nonzero(field == fid)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert box == rows.size, f"field {fid} is not a filled rectangle"
        assert np.unique(crop[rows, cols]).size == 1
        assert crop[rows[0], cols[0]] == layout400.field_crop[fid]


def test_field_sizes_are_realistic(layout400):
    field = layout400.field
    sizes = np.bincount(field[field > 0])[1:]
    # quarter-quarter sections are ~40 x 40 px; fields range from ~0.2 ha slivers at the edge to ~1 km²
    assert 800 <= np.median(sizes) <= 6400
    assert sizes.max() <= 160 * 161


def test_roads_are_non_crop_with_field_zero(layout400):
    road = layout400.field == 0
    assert 0.01 < road.mean() < 0.06
    assert (layout400.crop[road] == NON_CROP).all()


def test_edges_ring_each_field(layout400):
    edge, field = layout400.edge, layout400.field
    assert not edge[field == 0].any()
    fid = int(np.bincount(field[field > 0]).argmax())
    rows, cols = np.nonzero(field == fid)
    inner = (rows > rows.min()) & (rows < rows.max()) & (cols > cols.min()) & (cols < cols.max())
    assert not edge[rows[inner], cols[inner]].any()
    outer = ~inner & (rows > 0) & (cols > 0) & (rows < 399) & (cols < 399)
    assert edge[rows[outer], cols[outer]].all()


def test_grid_is_utm11n_10m_centred_on_imperial_valley():
    x, y = grid_coords(400, 300)
    assert np.allclose(np.diff(x), 10.0) and np.allclose(np.diff(y), -10.0)
    lon, lat = Transformer.from_crs("EPSG:32611", "EPSG:4326", always_xy=True).transform(x.mean(), y.mean())
    assert lat == pytest.approx(CENTER_LATLON[0], abs=0.01)
    assert lon == pytest.approx(CENTER_LATLON[1], abs=0.01)


@pytest.mark.parametrize("shape", [(4, 4), (8, 8), (8, 13), (37, 5)])
def test_tiny_layouts_are_complete(shape):
    layout = make_layout(*shape, rng=np.random.default_rng(3))
    assert layout.crop.shape == shape and layout.field.shape == shape
    assert set(np.unique(layout.crop)) <= set(CROP_CLASSES)
