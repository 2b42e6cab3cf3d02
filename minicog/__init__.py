"""minicog — a small, complete text-to-video diffusion library for the course.

Video tensors are `(B, C, T, H, W)` in [-1, 1]; videos handed to people are uint8 numpy `(T, H, W, 3)`.
Submodules are imported lazily, so `import minicog` is cheap and never needs diffusers/transformers.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "CausalVAE": "causal_vae",
    "VAEConfig": "causal_vae",
    "VideoDiT": "dit",
    "DiTConfig": "dit",
    "load_pipeline": "pipeline",
    "Pipeline": "pipeline",
    "CogVideoX": "cogvideox",
    "save_video": "video",
    "load_video": "video",
    "show_video": "video",
    "frame_grid": "video",
    "resolve_device": "utils",
}
_SUBMODULES = {"shapes", "video", "utils", "causal_vae", "vae_tiling", "dit", "attention", "rope",
               "rectified_flow", "frame_pack", "text_encoder", "words", "train", "pipeline", "editing",
               "flowdirector", "cogvideox", "cogvideox_weights", "cogvideox_cli", "offload", "scheduler",
               "scheduler_config", "memory", "generate", "sizes", "edit", "edit_eval", "mask_eval", "data",
               "train_vae"}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minicog' has no attribute {name!r}")


def __dir__():
    return __all__
