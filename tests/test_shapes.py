import numpy as np
import pytest
import torch
import torch.nn.functional as F

from minicog import shapes


@pytest.fixture(scope="module")
def rendered():
    combos = shapes.all_combinations()
    videos = [shapes.render(**c, rng=1000 + i) for i, c in enumerate(combos)]
    return combos, videos, [shapes.caption(**c) for c in combos]


def test_vocabulary_and_palette():
    assert len(shapes.all_combinations()) == 216
    assert shapes.COLORS["red"] == (220, 40, 40) and shapes.COLORS["orange"] == (240, 130, 30)
    assert shapes.BACKGROUNDS == {"black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128)}


def test_render_contract():
    v = shapes.render("blue", "square", "right", "gray", rng=3)
    assert v.shape == (17, 64, 64, 3) and v.dtype == np.uint8
    # exact palette colour inside, exact background at the corners
    assert (v[:, 0, 0] == shapes.BACKGROUNDS["gray"]).all()
    assert (v == np.array(shapes.COLORS["blue"], np.uint8)).all(-1).sum() > 17 * 50
    # same seed, same clip; other seed, other clip
    assert np.array_equal(v, shapes.render("blue", "square", "right", "gray", rng=3))
    assert not np.array_equal(v, shapes.render("blue", "square", "right", "gray", rng=4))
    v = shapes.render("red", "circle", "up", "black", frames=9, size=(32, 48), rng=0)
    assert v.shape == (9, 32, 48, 3)


@pytest.mark.parametrize("direction", shapes.DIRECTIONS)
def test_motion_stays_inside_and_travels(direction):
    for seed in range(30):
        m = shapes.sample_motion(direction, 64, seed)
        assert 0.14 * 64 <= m.radius <= 0.19 * 64
        c = m.centers(17)
        assert (c - m.radius >= 0).all() and (c + m.radius <= 64).all()
        travel = np.abs(c[-1] - c[0]).sum()
        assert 0.4 * 64 - 1e-6 <= travel <= 0.6 * 64 + 1e-6
        step = np.diff(c, axis=0)
        assert np.allclose(step, step[0])             # constant speed
        dx, dy = step[0]
        assert {"left": dx < 0, "right": dx > 0, "up": dy < 0, "down": dy > 0}[direction]


def test_captions_roundtrip():
    for c in shapes.all_combinations():
        for template in shapes.PARAPHRASES:
            assert shapes.parse_caption(shapes.caption(**c, template=template)).attributes == c
    assert shapes.caption("red", "circle", "left", "black") == "a red circle moving left on a black background"


@pytest.mark.parametrize("call, match", [
    (lambda: shapes.render("pink", "circle", "left", "black"), "allowed values are: red"),
    (lambda: shapes.render("red", "star", "left", "black"), "circle, square, triangle"),
    (lambda: shapes.render("red", "circle", "sideways", "black"), "left, right, up, down"),
    (lambda: shapes.render("red", "circle", "left", "black", frames=16), "1\\+4k"),
    (lambda: shapes.render("red", "circle", "left", "black", size=60), "multiple of 16"),
    (lambda: shapes.parse_caption("a pink star moving left on a black background"), "color"),
    (lambda: shapes.ShapesDataset(frames=10), "1\\+4k"),
])
def test_bad_input_is_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dataset_deterministic_and_holdout():
    held = [("red", "circle", "left", "black"), "a blue square moving up on a white background"]
    ds = shapes.ShapesDataset(length=300, seed=5, holdout=held, frames=9, size=32)
    a, b = ds[7], ds[7]
    assert a["video"].shape == (3, 9, 32, 32) and a["video"].dtype == torch.float32
    assert torch.equal(a["video"], b["video"]) and a["caption"] == b["caption"]
    assert -1 <= a["video"].min() and a["video"].max() <= 1
    seen = {tuple(ds[i]["attributes"].values()) for i in range(len(ds))}
    assert ("red", "circle", "left", "black") not in seen
    assert ("blue", "square", "up", "white") not in seen
    assert len(seen) > 100
    # the caption describes the clip
    for i in range(10):
        item = ds[i]
        assert shapes.parse_caption(item["caption"]).attributes == item["attributes"]
        v = ((item["video"].permute(1, 2, 3, 0) + 1) * 127.5).round().byte().numpy()
        assert shapes.read_attributes(v) == item["attributes"]
    # paraphrased captions still parse to the same attributes
    para = shapes.ShapesDataset(length=50, seed=5, paraphrase=True)
    assert len({para[i]["caption"].split()[1] for i in range(50)}) > 1
    assert all(shapes.parse_caption(para[i]["caption"]).attributes == para[i]["attributes"] for i in range(50))


def test_oracle_is_perfect_on_all_216_rendered_clips(rendered):
    combos, videos, captions = rendered
    report = shapes.evaluate(videos, captions)
    assert report.prompt_accuracy == 1.0, report.failures()[:5]
    assert all(v == 1.0 for v in report.per_attribute.values())
    assert "all (prompt)" in report.table()


def _blur(v, sigma):
    k = int(3 * sigma) * 2 + 1
    x = torch.arange(k) - k // 2
    g = torch.exp(-x.float() ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    t = torch.from_numpy(v).float().permute(0, 3, 1, 2).reshape(-1, 1, *v.shape[1:3])
    t = F.conv2d(F.pad(t, (k // 2, k // 2, 0, 0), mode="replicate"), g.view(1, 1, 1, k))
    t = F.conv2d(F.pad(t, (0, 0, k // 2, k // 2), mode="replicate"), g.view(1, 1, k, 1))
    return t.reshape(v.shape[0], 3, *v.shape[1:3]).permute(0, 2, 3, 1).round().clamp(0, 255).byte().numpy()


def test_oracle_limits_under_corruption(rendered):
    """Known limits (measured on the 216 clips at 64x64): Gaussian pixel noise up to sigma=45 and
    blur up to sigma=2 px are read perfectly; noise sigma=60 or blur sigma=4 break shape reading."""
    combos, videos, captions = rendered
    rng = np.random.default_rng(0)

    def noisy(s):
        return [np.clip(v + rng.normal(0, s, v.shape), 0, 255).astype(np.uint8) for v in videos]
    assert shapes.evaluate(noisy(30), captions).prompt_accuracy >= 0.98
    assert shapes.evaluate([_blur(v, 2) for v in videos], captions).prompt_accuracy >= 0.98
    heavy = shapes.evaluate([_blur(v, 4) for v in videos], captions)
    assert heavy.prompt_accuracy < 0.8            # the oracle is not magic: heavy blur fails
    assert heavy.per_attribute["direction"] == 1.0  # motion is still readable


def test_oracle_reads_nothing_from_an_empty_video():
    empty = np.zeros((17, 64, 64, 3), np.uint8)
    out = shapes.read_attributes(empty)
    assert out["background"] == "black" and out["color"] is None and out["shape"] is None
    with pytest.raises(ValueError, match="T, H, W, 3"):
        shapes.read_attributes(np.zeros((64, 64), np.uint8))


def test_add_shape_draws_a_static_second_object():
    clip = shapes.render("red", "circle", "right", "black", rng=0)
    out, m = shapes.add_shape(clip, "green", "square", 6.0, (50.0, 12.0))
    assert out.dtype == np.uint8 and out.shape == clip.shape
    assert m.shape == clip.shape[:3] and (m == m[:1]).all()              # static
    assert abs(int(m[0].sum()) - 12 * 12) <= 12                          # a 12 × 12 px square
    assert (out[m] == shapes.COLORS["green"]).all()
    far = np.ones_like(m)
    far[:, 3:22, 41:60] = False                                          # away from the square
    assert (out[far] == clip[far]).all()
    with pytest.raises(ValueError, match="color"):
        shapes.add_shape(clip, "pink", "square", 6.0, (50.0, 12.0))



def test_object_mask_and_nearest_color_are_the_oracles_own():
    """The oracle's object mask (what the editing measure tracks) is the drawn shape up to its
    smoothed edge, on every background; `nearest_color` names palette and background colours."""
    assert shapes.nearest_color(np.array([200.0, 60.0, 50.0]), shapes.COLORS) == "red"
    assert shapes.nearest_color(np.array([120.0, 130.0, 125.0]), shapes.BACKGROUNDS) == "gray"
    motion = shapes.sample_motion("left", rng=2)
    c = motion.centers(shapes.DEFAULT_FRAMES)                                  # (T, 2) x, y
    ys, xs = np.mgrid[0:64, 0:64] + 0.5

    def square(r):                                                            # (T, H, W)
        return shapes.shape_mask("square", c[:, 0, None, None], c[:, 1, None, None], r, xs[None], ys[None])

    for background in shapes.BACKGROUNDS:
        clip = shapes.render("blue", "square", "left", background, motion=motion)
        m = shapes.object_mask(clip)
        name, smooth, dist = shapes.background_distance(clip)
        assert name == background and smooth.shape == clip.shape and np.array_equal(m, dist > 60.0)
        assert m[square(motion.radius - 1.5)].all() and not m[~square(motion.radius + 1.5)].any()
    assert not shapes.object_mask(np.zeros((5, 16, 16, 3), np.uint8)).any()
