import json

import numpy as np
import pytest
import torch

from minicog import shapes, utils, video


def test_tensor_conversions_roundtrip():
    v = shapes.render("green", "triangle", "down", "white", rng=1)
    x = video.to_tensor(v)
    assert x.shape == (3, 17, 64, 64) and -1 <= x.min() and x.max() <= 1
    assert np.array_equal(video.to_uint8(x), v)
    assert video.to_uint8(x[None]).shape == (1, 17, 64, 64, 3)
    with pytest.raises(ValueError, match="T, H, W, 3"):
        video.to_tensor(np.zeros((3, 17, 64, 64), np.uint8))


@pytest.mark.parametrize("ext", ["gif", "mp4"])
def test_save_and_load_video(tmp_path, ext):
    v = shapes.render("yellow", "square", "left", "black", rng=2)
    path = video.save_video(v, tmp_path / f"clip.{ext}")
    back = video.load_video(path)
    assert back.shape == v.shape
    assert np.abs(back.astype(int) - v).mean() < (0.5 if ext == "gif" else 3.0)
    assert shapes.read_attributes(back) == dict(color="yellow", shape="square", direction="left", background="black")
    assert [p.name for p in tmp_path.iterdir()] == [f"clip.{ext}"]   # no temp files left behind
    with pytest.raises(ValueError, match=".gif or .mp4"):
        video.save_video(v, tmp_path / "clip.avi")


def test_html_and_grid():
    v = shapes.render("purple", "circle", "up", "gray", rng=3)
    assert video.video_html(v).startswith("<img")
    assert "<video" in video.video_html(v, fmt="mp4")
    fig = video.frame_grid([v, v[:5]], captions=["a", "b"], max_frames=5)
    assert len(fig.axes) == 10


def test_resolve_device():
    assert utils.resolve_device("auto").type in ("cpu", "cuda")
    assert utils.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        utils.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            utils.resolve_device("cuda")


def test_atomic_checkpoint_and_strict_loading(tmp_path):
    m = torch.nn.Linear(3, 2)
    path = utils.save_safetensors_atomic(m.state_dict(), tmp_path / "m.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    sd = utils.load_safetensors(path)
    utils.load_state_dict_strict(torch.nn.Linear(3, 2), sd)
    bad = dict(sd, extra=torch.zeros(1))
    bad.pop("bias")
    with pytest.raises(ValueError, match=r"missing keys \(1\): bias[\s\S]*unexpected keys \(1\): extra"):
        utils.load_state_dict_strict(torch.nn.Linear(3, 2), bad)
    with pytest.raises(ValueError, match=r"shape mismatches.*weight"):
        utils.load_state_dict_strict(torch.nn.Linear(4, 2), sd)
    with pytest.raises(FileNotFoundError):
        utils.load_safetensors(tmp_path / "nope.safetensors")


def test_diffusers_folder_sharded(tmp_path):
    a, b = {"x": torch.ones(2)}, {"y": torch.zeros(3)}
    utils.save_safetensors_atomic(a, tmp_path / "s1.safetensors")
    utils.save_safetensors_atomic(b, tmp_path / "s2.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"k": 1}))
    (tmp_path / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"x": "s1.safetensors", "y": "s2.safetensors"}}))
    cfg, sd = utils.load_diffusers_folder(tmp_path)
    assert cfg == {"k": 1} and set(sd) == {"x", "y"}
    with pytest.raises(FileNotFoundError, match="does not exist"):
        utils.load_diffusers_folder(tmp_path / "missing")
    (tmp_path / "s2.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="s2.safetensors"):
        utils.load_diffusers_folder(tmp_path)
