"""Model CPU offload (diffusers' `enable_model_cpu_offload`): where each of a pipeline's models lives.

Without offload every model sits on the compute device. With it, the models live in CPU memory and each
is moved to the GPU only while it runs, every other model going back to the CPU first, so the peak is
the largest model plus its activations instead of all of them (a few seconds of transfers per
generation). `minicog.cogvideox.CogVideoX` keeps one `ModelOffload` for T5, the transformer and the VAE.

    offload = ModelOffload(torch.device("cuda"), enabled=True)
    dit = offload.use("dit", {"text_encoder": t5, "dit": dit, "vae": vae})   # T5 and VAE to the CPU first
    offload.release({...})                                                   # after a generation
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn as nn

CPU = torch.device("cpu")


class ModelOffload:
    """The placement of named models: on `device`, or (enabled) on the CPU except the one in use.

    `models` arguments map each name to its module, or to None for a model not loaded (skipped)."""

    def __init__(self, device: torch.device, enabled: bool = False):
        self.device = device
        self.enabled = bool(enabled)
        self.placement: dict[str, torch.device] = {}         # where each model was last moved

    @property
    def home(self) -> torch.device:
        """Where a model waits while it is not running: the CPU with offload, else the compute device."""
        return CPU if self.enabled else self.device

    def move(self, name: str, module: nn.Module, device: torch.device) -> None:
        """Move one model (skipped when it is already there)."""
        if self.placement.get(name) == device:
            return
        module.to(device)
        self.placement[name] = device
        if device.type == "cpu" and self.device.type == "cuda":
            torch.cuda.empty_cache()

    def place(self, name: str, module: nn.Module) -> None:
        """A newly loaded (or replaced) model goes to its home."""
        self.placement.pop(name, None)
        self.move(name, module, self.home)

    def use(self, name: str, models: Mapping[str, nn.Module | None]) -> nn.Module:
        """The model `name`, on the compute device; with offload every other model goes to the CPU first,
        so only one occupies the GPU at a time."""
        if self.enabled:
            for other, module in models.items():
                if other != name and module is not None:
                    self.move(other, module, CPU)
        self.move(name, models[name], self.device)
        return models[name]

    def release(self, models: Mapping[str, nn.Module | None]) -> None:
        """After a generation with offload: everything back on the CPU (diffusers' maybe_free_model_hooks)."""
        if self.enabled:
            for name, module in models.items():
                if module is not None:
                    self.move(name, module, CPU)

    def enable(self, models: Mapping[str, nn.Module | None]) -> None:
        self.enabled = True
        self.release(models)

    def disable(self, models: Mapping[str, nn.Module | None]) -> None:
        self.enabled = False
        for name, module in models.items():
            if module is not None:
                self.move(name, module, self.device)
