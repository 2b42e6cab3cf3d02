"""Small shared helpers: device resolution, autocast, atomic safetensors checkpoints, and
loading diffusers-layout weight folders (single file or sharded with an index json)."""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import random
import shutil
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file

FAST = os.environ.get("MINICOG_FAST", "0") not in ("", "0", "false", "False")
ASSETS = Path(__file__).resolve().parent.parent / "assets"     # shipped tiny checkpoints


def asset_folder(name_or_path: str | os.PathLike, part: str | None = None) -> Path:
    """`"tiny"` → the shipped `assets/tiny` (or its sub-folder `part`, e.g. "vae"); anything else is
    a path, returned as it is. The one place that knows where shipped weights live."""
    if str(name_or_path) == "tiny":
        return ASSETS / "tiny" / part if part else ASSETS / "tiny"
    return Path(name_or_path)


def is_number(v) -> bool:
    """A finite real number (int, float, numpy scalar) — not a bool, a string, nan or inf."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def is_integer(v) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def config_from_dict(cls, d: dict, what: str | None = None, source: str | os.PathLike | None = None):
    """Build the config dataclass `cls` from a dict — the package's one policy for unknown keys:
    keys starting with `_` are metadata (e.g. diffusers' `_class_name`) and skipped; any other key
    that is not a field is an error that lists the known fields (a typo never silently falls back
    to a default)."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(k for k in d if not str(k).startswith("_") and k not in names)
    if unknown:
        where = f" in {source}" if source else ""
        raise ValueError(f"unknown {what or cls.__name__} fields {unknown}{where}; known fields: {sorted(names)}")
    return cls(**{k: v for k, v in d.items() if k in names})


def as_batch(items, what: str = "prompt") -> tuple[list, bool]:
    """A single item or a sequence of them → (list, single). `single` says to unwrap the result:
    `out = results[0] if single else results` — how `generate` takes one prompt or many."""
    single = isinstance(items, str) or not isinstance(items, Sequence)
    batch = [items] if single else list(items)
    if not batch:
        raise ValueError(f"expected a {what} or a non-empty list of {what}s, got an empty list")
    return batch, single


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`"auto"` → CUDA when present, else Apple's MPS when present (untested here), else CPU.
    Unknown names raise a clear ValueError."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if isinstance(device, torch.device):
        dev = device
    else:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise ValueError(
                f"unknown device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for CUDA but no CUDA GPU is available; "
                         "use device='auto' or 'cpu'")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return dev


def autocast(device: torch.device | str, enabled: bool = True):
    """bf16 autocast on CUDA, nothing on CPU (fp32 keeps CPU results exact and reproducible)."""
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if enabled and dev.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- checkpoints

def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp"):
    """Yield a temp file name in `path`'s folder; on success fsync it, give it the permissions a
    plain `open()` would (0666 minus the umask, not mkstemp's private 0600) and rename it onto
    `path`; on failure remove it. A crash mid-write never leaves a half-written file under `path`.
    `suffix` is the temp file's extension (writers that pick a format by extension need it)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give a file name to write to")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def replace_folder(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Put the finished folder `src` in place of `dst` (e.g. a freshly trained model over
    assets/tiny): two renames on the same file system, the old folder removed only once the new one
    is in place, so a stop never leaves a mix of old and new files in `dst`. (Between the two renames
    `dst` is briefly absent and the old copy sits at `.<name>.old` beside it.)"""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise FileNotFoundError(f"{str(src)!r} is not a folder; nothing to put in place of {str(dst)!r}")
    old = dst.with_name(f".{dst.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if dst.exists():
        os.rename(dst, old)
    os.rename(src, dst)
    if old.exists():
        shutil.rmtree(old)
    return dst


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m minicog.utils replace-folder SRC DST` (used by `make train-tiny`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3 or args[0] != "replace-folder":
        print("usage: python -m minicog.utils replace-folder SRC DST", file=sys.stderr)
        return 2
    print(f"{replace_folder(args[1], args[2])}: replaced by {args[1]}")
    return 0


def save_safetensors_atomic(tensors: dict[str, torch.Tensor], path: str | os.PathLike,
                            metadata: dict[str, str] | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write a safetensors file atomically (`atomic_path`). `dtype` (e.g. torch.float16, for
    shipped weights) casts floating-point tensors; loading casts them back."""
    tensors = {k: v.detach().to("cpu", dtype if dtype is not None and v.is_floating_point() else v.dtype)
               .contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=metadata)
    return Path(path)


def write_json_atomic(obj, path: str | os.PathLike) -> Path:
    """Write `obj` as indented JSON atomically (`atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
    return Path(path)


def load_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a missing, truncated or foreign file raises an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        return load_file(str(path))
    except Exception as e:          # safetensors raises its own SafetensorError / OSError types
        raise ValueError(f"cannot read the checkpoint {str(path)!r} ({path.stat().st_size} bytes): {e}. "
                         "The file is truncated, empty or not a safetensors file; copy it again or "
                         "re-create it (git checkout / re-train)") from e


def read_json(path: str | os.PathLike, what: str = "config") -> dict:
    """Read a JSON object; a missing or broken file raises an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} file {str(path)!r} is not valid JSON ({e}); restore it from the "
                         "original folder (e.g. `git checkout -- <file>` for the shipped model)") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{what} file {str(path)!r} must hold a JSON object, got {type(obj).__name__}")
    return obj


def save_model_folder(folder: str | os.PathLike, config, state: dict[str, torch.Tensor],
                      dtype: torch.dtype | None = None) -> Path:
    """minicog's own folder format: `config.json` (the config dataclass) + `model.safetensors`,
    both written atomically."""
    folder = Path(folder)
    write_json_atomic(dataclasses.asdict(config), folder / "config.json")
    save_safetensors_atomic(state, folder / "model.safetensors", dtype=dtype)
    return folder


def load_model_folder(folder: str | os.PathLike, config_cls, what: str, hint: str = ""
                      ) -> tuple[object, dict[str, torch.Tensor]]:
    """Read a folder written by `save_model_folder` → (config, state dict). The one loader contract
    of minicog's models: `Model.from_pretrained(folder, device=None, dtype=None)` reads its folder
    here, builds `Model(config)` and loads the state strictly (`load_state_dict_strict`); unknown
    config keys follow `config_from_dict`. A missing file raises FileNotFoundError naming it."""
    folder = Path(folder)
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{str(folder)!r} has no config.json; pass a folder written by "
                                f"{what}.save_pretrained{hint}")
    if not weights.is_file():
        diffusers = (" — this looks like a diffusers folder: use from_diffusers(folder)"
                     if any(folder.glob("diffusion_pytorch_model*")) else "")
        raise FileNotFoundError(f"{str(folder)!r} has no model.safetensors{diffusers}")
    config = config_from_dict(config_cls, read_json(cfg_path), source=cfg_path)
    return config, load_safetensors(weights)


def load_diffusers_folder(folder: str | os.PathLike, kind: str = "model"
                          ) -> tuple[dict, dict[str, torch.Tensor]]:
    """Read a diffusers-layout model folder: `config.json` plus either
    `diffusion_pytorch_model.safetensors` or sharded `*.safetensors` listed in
    `diffusion_pytorch_model.safetensors.index.json`. Returns (config, state_dict)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{kind} folder {str(folder)!r} does not exist; pass the folder that holds config.json "
            "and diffusion_pytorch_model*.safetensors (e.g. <weights>/transformer or <weights>/vae)")
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{kind} folder {str(folder)!r} has no config.json; is this the "
                                f"right sub-folder? It holds: {sorted(p.name for p in folder.iterdir())}")
    config = read_json(cfg_path)
    single = folder / "diffusion_pytorch_model.safetensors"
    index = folder / "diffusion_pytorch_model.safetensors.index.json"
    if single.is_file():
        return config, load_safetensors(single)
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        state: dict[str, torch.Tensor] = {}
        for shard in sorted(set(weight_map.values())):
            shard_path = folder / shard
            if not shard_path.is_file():
                raise FileNotFoundError(f"shard {shard!r} listed in {index.name} is missing from {folder}")
            state.update(load_safetensors(shard_path))
        missing = set(weight_map) - set(state)
        if missing:
            raise KeyError(f"tensors listed in {index.name} but absent from the shards: {sorted(missing)[:10]}")
        return config, state
    raise FileNotFoundError(
        f"{kind} folder {str(folder)!r} has config.json but no weights: expected "
        "diffusion_pytorch_model.safetensors or diffusion_pytorch_model.safetensors.index.json "
        "(.bin checkpoints are not supported; convert them to safetensors)")


def _short(keys: Iterable[str], n: int = 12) -> str:
    keys = sorted(keys)
    more = f" ... (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_state_dict_strict(module: torch.nn.Module, state: dict[str, torch.Tensor],
                           what: str = "checkpoint") -> None:
    """Load `state` into `module`, raising one clear error that lists missing keys, unexpected keys
    and shape mismatches (instead of torch's partially-applied load)."""
    own = module.state_dict()
    check_state_keys({k: tuple(v.shape) for k, v in own.items()}, state,
                     f"{what} does not match {type(module).__name__}",
                     "check that the config matches the weights (same preset / config.json).")
    module.load_state_dict(state, strict=True)


def check_state_keys(expected: dict[str, tuple], state: dict[str, torch.Tensor], title: str,
                     hint: str) -> None:
    """Raise one ValueError listing missing keys, unexpected keys and shape mismatches between
    `expected` (name → shape) and `state`; do nothing when they agree."""
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    mismatched = [f"{k}: checkpoint {tuple(state[k].shape)} vs expected {tuple(expected[k])}"
                  for k in sorted(set(expected) & set(state)) if tuple(state[k].shape) != tuple(expected[k])]
    if missing or unexpected or mismatched:
        parts = [f"{title}:"]
        if missing:
            parts.append(f"  missing keys ({len(missing)}): {_short(missing)}")
        if unexpected:
            parts.append(f"  unexpected keys ({len(unexpected)}): {_short(unexpected)}")
        if mismatched:
            parts.append(f"  shape mismatches ({len(mismatched)}): " + "; ".join(mismatched[:8]))
        parts.append(f"  {hint}")
        raise ValueError("\n".join(parts))


if __name__ == "__main__":
    sys.exit(main())
