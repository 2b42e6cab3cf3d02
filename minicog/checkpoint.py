"""Resumable training checkpoints, shared by both trainers (minicog.train, minicog.train_vae).

One safetensors file holds the weights of each named module (`model.*`, `ema.*`, ...), the
optimizer's state (`optim.<param id>.<name>`) and any extra tensors (e.g. a random generator's
state); its metadata holds the step, the optimizer's param groups and the caller's strings (the
config, the seconds trained, the loss history). Written atomically, so a stop never leaves half a
checkpoint: the last complete one is what a rerun resumes from.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import safe_open

from .utils import load_safetensors, load_state_dict_strict, save_safetensors_atomic


def save_training_state(path: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer,
                        step: int, *, extra: dict[str, torch.Tensor] | None = None,
                        metadata: dict[str, str] | None = None) -> Path:
    """Write `modules` (name → module), the optimizer's state, `extra` tensors and `metadata`
    strings, with `step` (the number of steps done), to the safetensors file `path`."""
    tensors = {f"{name}.{k}": v for name, m in modules.items() for k, v in m.state_dict().items()}
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for k, v in st.items():
            tensors[f"optim.{pid}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    tensors.update(extra or {})
    meta = dict(step=str(step), param_groups=json.dumps(osd["param_groups"]), **(metadata or {}))
    return save_safetensors_atomic(tensors, path, metadata=meta)


def load_training_state(path: str | Path, modules: dict[str, nn.Module], opt: torch.optim.Optimizer,
                        extra: tuple[str, ...] = ()) -> tuple[int, dict[str, str], dict[str, torch.Tensor]]:
    """Load a `save_training_state` file into `modules` and `opt` (strictly: a missing or renamed
    tensor is an error naming it); returns (step, metadata, the `extra` tensors asked for)."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    tensors = load_safetensors(path)

    def pick(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    for name, m in modules.items():
        load_state_dict_strict(m, pick(f"{name}."), what=f"checkpoint {path} ({name})")
    state: dict[int, dict] = {}
    for k, v in pick("optim.").items():
        pid, name = k.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    missing = [k for k in extra if k not in tensors]
    if missing:
        raise ValueError(f"checkpoint {path} has no {missing}; it was not written by this trainer "
                         "(delete it to start over)")
    return int(meta["step"]), meta, {k: tensors[k] for k in extra}
