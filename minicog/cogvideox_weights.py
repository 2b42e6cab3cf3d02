"""Reading a CogVideoX weights folder (the diffusers layout of the official checkpoints) into minicog's modules.

    <folder>/transformer/   config.json + sharded safetensors with an index json  → VideoDiT
    <folder>/vae/           config.json + safetensors                             → CausalVAE
    <folder>/scheduler/     scheduler_config.json (its _class_name picks DDIM / DPM) → minicog.scheduler
    <folder>/text_encoder/, tokenizer/   T5-XXL, optional, loaded lazily with `transformers`

`check_folder` refuses incomplete folders and image- or control-conditioned checkpoints with a message
naming what is wrong; `resolve_dtype` picks the weights' dtype (bf16 on a GPU, fp32 on the CPU);
`load_models` reads the three required parts; `estimate_memory_for_folder` computes the peak GPU memory
of a setting from the config files alone. The pipeline that runs them is `minicog.cogvideox.CogVideoX`.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

from .causal_vae import CausalVAE, VAEConfig
from .dit import DiTConfig, VideoDiT
from .memory import DTYPES, MemoryEstimate, estimate_memory, t5_dims
from .scheduler import VPScheduler, load_scheduler
from .utils import read_json

REQUIRED_PARTS = ("transformer", "vae", "scheduler")
TEXT_PARTS = ("text_encoder", "tokenizer")
TEXT_TO_VIDEO = "CogVideoX-2b, CogVideoX-5b, CogVideoX1.5-5B"
DOWNLOAD_HINT = ("get the official weights with e.g. `huggingface-cli download THUDM/CogVideoX-2b "
                 "--local-dir DIR` (or CogVideoX-5b)")


def resolve_dtype(dtype: torch.dtype | str | None, device: torch.device) -> torch.dtype:
    """None → bf16 on a CUDA GPU that has it (fp16 on older GPUs), fp32 on CPU. Half precision on the
    CPU is refused: CPU kernels for bf16/fp16 3D convolutions and attention are missing or very slow,
    and the parity guarantees are for fp32."""
    cuda = device.type == "cuda"
    if dtype is None or dtype == "auto":
        if cuda:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}: use one of {sorted(set(DTYPES))} or None (auto)")
        dtype = DTYPES[dtype]
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype {dtype} is not supported: use torch.float32, torch.bfloat16 or torch.float16")
    if device.type == "cpu" and dtype != torch.float32:
        raise ValueError(f"dtype={dtype} on the CPU is not supported (half-precision 3D convolutions and "
                         "attention are missing or very slow there): use dtype=torch.float32 on the CPU, "
                         "or bf16 on a CUDA GPU (device='cuda')")
    if cuda and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bfloat16 support: "
                         "use dtype=torch.float16 (or float32)")
    return dtype


def check_folder(folder: str | os.PathLike) -> Path:
    """The weights folder must hold transformer/, vae/ and scheduler/ (text_encoder/ and tokenizer/
    are optional). Raises FileNotFoundError naming what is missing."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"CogVideoX weights folder {str(folder)!r} does not exist; {DOWNLOAD_HINT}")
    missing = [p for p in REQUIRED_PARTS if not (folder / p).is_dir()]
    if not missing and not (folder / "scheduler" / "scheduler_config.json").is_file():
        missing = ["scheduler/scheduler_config.json"]
    if missing:
        have = sorted(p.name for p in folder.iterdir())
        raise FileNotFoundError(
            f"{str(folder)!r} is not a complete CogVideoX folder: missing {missing} (it holds {have}). "
            f"A CogVideoX folder has {list(REQUIRED_PARTS)} and optionally {list(TEXT_PARTS)}; {DOWNLOAD_HINT}")
    index = folder / "model_index.json"
    if index.is_file():
        name = read_json(index, "model index").get("_class_name", "")
        kind = ("image-conditioned (image-to-video)" if "ImageToVideo" in name else
                "control- or inpaint-conditioned (CogVideoX-Fun)" if "Fun" in name else None)
        if kind:
            raise ValueError(f"{str(folder)!r} holds a {name} checkpoint, {kind}: its transformer takes the "
                             "conditioning latents as extra input channels, which this text-to-video pipeline "
                             f"does not provide. Use a text-to-video checkpoint ({TEXT_TO_VIDEO})")
    return folder


def check_channels(dit: nn.Module, vae: nn.Module) -> None:
    """The transformer must take the VAE's latents: twice as many input channels is an image- or
    control-conditioned checkpoint, any other mismatch two checkpoints that do not belong together."""
    c_in, c_lat = dit.config.in_channels, vae.latent_channels
    if c_in == 2 * c_lat:
        raise ValueError(f"the transformer takes {c_in} input channels = the VAE's {c_lat} latent channels + "
                         f"{c_lat} conditioning channels: an image- or control-conditioned checkpoint "
                         "(CogVideoX image-to-video, or CogVideoX-Fun control / inpaint), which this "
                         "text-to-video pipeline cannot condition. Use a text-to-video checkpoint "
                         f"({TEXT_TO_VIDEO})")
    if c_in != c_lat:
        raise ValueError(f"the transformer takes {c_in} input channels but the VAE makes {c_lat}-channel "
                         "latents: the two do not belong to the same checkpoint")


def load_models(folder: Path, dtype: torch.dtype) -> tuple[VideoDiT, CausalVAE, VPScheduler]:
    """The transformer, the VAE (on the CPU, in `dtype`) and the scheduler of a checked folder."""
    scheduler = load_scheduler(folder / "scheduler")     # refuses classes and fields it does not implement
    dit = VideoDiT.from_diffusers(folder / "transformer", device="cpu", dtype=dtype)   # sharded + index json
    vae = CausalVAE.from_diffusers(folder / "vae", device="cpu", dtype=dtype)
    return dit, vae, scheduler


def text_part(folder: Path | None, part: str) -> Path:
    """`folder/part` (text_encoder or tokenizer), or a FileNotFoundError saying how to do without it."""
    path = folder / part if folder is not None else None
    if path is None or not path.is_dir():
        where = f"{str(folder)!r} has no {part}/" if folder is not None else f"no {part} was given"
        raise FileNotFoundError(
            f"{where}: prompts need the T5 text encoder and tokenizer (text_encoder/ and tokenizer/ of the "
            "official checkpoint). Without them, encode prompts elsewhere and call "
            "pipe.denoise(text_embeds, negative_text_embeds, latents)")
    return path


def load_tokenizer(folder: Path | None):
    """The folder's T5 tokenizer (`transformers` is imported here only: only the T5 side needs it)."""
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(text_part(folder, "tokenizer")))


def load_text_encoder(folder: Path | None, dtype: torch.dtype) -> nn.Module:
    """The folder's T5 encoder in `dtype`, in eval mode, on the CPU."""
    path = text_part(folder, "text_encoder")
    from transformers import T5EncoderModel
    return T5EncoderModel.from_pretrained(str(path), dtype=dtype).eval()


def folder_t5(folder: Path | None) -> dict | None:
    """The T5 dimensions of `folder/text_encoder/config.json` (for the memory estimate), or None."""
    path = folder / "text_encoder" / "config.json" if folder is not None else None
    return t5_dims(read_json(path, "text encoder config")) if path is not None and path.is_file() else None


def estimate_memory_for_folder(folder: str | os.PathLike, num_frames: int | None = None,
                               height: int | None = None, width: int | None = None, **kw) -> MemoryEstimate:
    """`minicog.memory.estimate_memory` from a weights folder's config files only (no weights are read);
    sizes default to the checkpoint's training size (the transformer's sample_frames and sample size)."""
    folder = check_folder(folder)
    dit_cfg = DiTConfig.from_diffusers_config(read_json(folder / "transformer" / "config.json"))
    vae_cfg = VAEConfig.from_diffusers_config(read_json(folder / "vae" / "config.json"))
    s = 2 ** (len(vae_cfg.block_out_channels) - 1)
    return estimate_memory(dit_cfg, vae_cfg, num_frames or dit_cfg.sample_frames,
                           height or dit_cfg.sample_height * s, width or dit_cfg.sample_width * s,
                           t5=folder_t5(folder), text_len=kw.pop("text_len", dit_cfg.max_text_len), **kw)
