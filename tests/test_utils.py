"""`minicog.utils` (asset paths, the one unknown-key policy, the one loader contract, atomic writes,
prompt batching) and `minicog.sizes` (the one copy of the frame/size rules)."""
import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from minicog import sizes, utils


@dataclasses.dataclass
class Cfg:
    width: int = 4
    names: list = dataclasses.field(default_factory=list)


class Tiny(torch.nn.Module):
    def __init__(self, cfg: Cfg):
        super().__init__()
        self.config = cfg
        self.lin = torch.nn.Linear(cfg.width, 2)


def test_asset_folder():
    assert utils.asset_folder("tiny") == utils.ASSETS / "tiny"
    assert utils.asset_folder("tiny", "vae") == utils.ASSETS / "tiny" / "vae"
    assert (utils.asset_folder("tiny") / "pipeline.json").is_file()
    assert str(utils.asset_folder("runs/mine")) == "runs/mine"


def test_config_from_dict_policy():
    assert utils.config_from_dict(Cfg, {"width": 8}) == Cfg(width=8)
    # diffusers-style metadata keys are skipped, everything else must be a field
    assert utils.config_from_dict(Cfg, {"_class_name": "X", "_diffusers_version": "0.1", "width": 2}) == Cfg(2)
    with pytest.raises(ValueError, match=r"unknown Cfg fields \['widht'\] in cfg.json; known fields: \['names', 'width'\]"):
        utils.config_from_dict(Cfg, {"widht": 8}, source="cfg.json")


def test_as_batch():
    assert utils.as_batch("a red circle") == (["a red circle"], True)
    assert utils.as_batch(["a", "b"]) == (["a", "b"], False)
    assert utils.as_batch(("a",)) == (["a"], False)
    assert utils.as_batch(3, "seed") == ([3], True)
    with pytest.raises(ValueError, match="non-empty list of prompts"):
        utils.as_batch([])


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    utils.write_json_atomic({"a": 1}, target)
    with pytest.raises(RuntimeError):
        with utils.atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"a": 1}              # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["out.json"]            # no temp file left behind


def test_model_folder_roundtrip_and_errors(tmp_path):
    torch.manual_seed(0)
    m = Tiny(Cfg(width=3, names=["x"]))
    utils.save_model_folder(tmp_path / "m", m.config, m.state_dict(), dtype=torch.float16)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    cfg, state = utils.load_model_folder(tmp_path / "m", Cfg, "Tiny")
    assert cfg == Cfg(width=3, names=["x"]) and state["lin.weight"].dtype == torch.float16
    assert torch.allclose(state["lin.weight"].float(), m.lin.weight, atol=1e-3)
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        utils.load_model_folder(tmp_path / "nowhere", Cfg, "Tiny")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").write_text("{}")
    (tmp_path / "d" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="use from_diffusers"):
        utils.load_model_folder(tmp_path / "d", Cfg, "Tiny")
    (tmp_path / "m" / "config.json").write_text(json.dumps({"width": 3, "depth": 2}))
    with pytest.raises(ValueError, match=r"unknown Cfg fields \['depth'\]"):
        utils.load_model_folder(tmp_path / "m", Cfg, "Tiny")


def test_seed_everything_is_reproducible():
    g = utils.seed_everything(7)
    a = (torch.rand(2), np.random.rand(2), torch.rand(2, generator=g))
    g = utils.seed_everything(7)
    b = (torch.rand(2), np.random.rand(2), torch.rand(2, generator=g))
    assert all(np.allclose(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


def test_autocast_is_a_no_op_on_cpu():
    with utils.autocast("cpu"):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


@pytest.mark.parametrize("frames,ok", [(1, True), (5, True), (17, True), (49, True), (np.int64(9), True),
                                       (9.0, True), (0, False), (8, False), (-3, False), (9.5, False),
                                       ("9", False), (True, False)])
def test_frame_rule(frames, ok):
    if ok:
        assert sizes.check_frames(frames) == int(frames)
        assert sizes.latent_length(int(frames)) == 1 + (int(frames) - 1) // 4
    else:
        with pytest.raises(ValueError, match=r"1\+4k"):
            sizes.check_frames(frames)


def test_size_rules():
    assert sizes.check_size(64) == (64, 64)
    assert sizes.check_size((32, 48)) == (32, 48)
    assert sizes.check_video_size(49, 480, 720) == (49, 480, 720)
    with pytest.raises(ValueError, match="multiple of 16.*use e.g. 64"):
        sizes.check_size(60)
    with pytest.raises(ValueError, match="width must be a multiple of 16"):
        sizes.check_video_size(9, 32, 40)
    with pytest.raises(ValueError, match="num_frames must be 1\\+4k"):
        sizes.check_video_size(10, 32, 32)
    with pytest.raises(ValueError, match="one int or \\(height, width\\)"):
        sizes.check_size((16, 16, 16))
    assert [sizes.valid_length(n) for n in (1, 4, 5, 8, 9, 17, 20)] == [1, 1, 5, 5, 9, 17, 17]
    with pytest.raises(ValueError, match="at least 1 frame"):
        sizes.valid_length(0)


def test_replace_folder_swaps_whole_folders(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "dit.bin").write_text("new")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "dit.bin").write_text("old")
    (tmp_path / "assets" / "stale.bin").write_text("old")
    assert utils.main(["replace-folder", str(tmp_path / "new"), str(tmp_path / "assets")]) == 0
    assert sorted(p.name for p in (tmp_path / "assets").iterdir()) == ["dit.bin"]      # nothing old mixed in
    assert (tmp_path / "assets" / "dit.bin").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assets"]                    # no .old left
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        utils.replace_folder(tmp_path / "nope", tmp_path / "assets")


def test_number_predicates_and_non_finite_frame_counts():
    assert utils.is_number(3) and utils.is_number(2.5) and utils.is_number(np.float32(1))
    assert not any(utils.is_number(v) for v in (True, "3", None, float("nan"), float("inf")))
    assert utils.is_integer(np.int64(4)) and not utils.is_integer(4.0) and not utils.is_integer(False)
    for bad in (float("nan"), float("inf"), -float("inf")):                 # a clear error, not int()'s
        with pytest.raises(ValueError, match=r"1\+4k"):
            sizes.check_frames(bad)
        with pytest.raises(ValueError, match="multiple of 16"):
            sizes.check_size(bad)
