"""The command line of the scaled path: `python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4`.

A thin reader of flags around `minicog.cogvideox.CogVideoX` and `estimate_memory_for_folder`
(`--memory`: the computed peak GPU memory of the setting, no weights read). Sizes left out are the
folder's own (its transformer's sample size, as diffusers' pipeline uses). Every mistake ends with one
line `error: ...` and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

from .cogvideox import CogVideoX
from .cogvideox_weights import estimate_memory_for_folder
from .memory import DTYPES, GPUMemoryError
from .video import save_video


def main(argv: Sequence[str] | None = None) -> int:
    """python -m minicog.cogvideox --weights DIR --prompt "..." --out out.mp4"""
    ap = argparse.ArgumentParser(prog="python -m minicog.cogvideox",
                                 description="Text to video with CogVideoX weights on minicog's modules.")
    ap.add_argument("--weights", required=True, help="CogVideoX folder (transformer/, vae/, scheduler/, "
                    "text_encoder/, tokenizer/), e.g. from `huggingface-cli download THUDM/CogVideoX-2b`")
    ap.add_argument("--prompt", help="text prompt (required unless --memory)")
    ap.add_argument("--negative-prompt", default="")
    ap.add_argument("--out", default="out.mp4", help="output .mp4 (or .gif), written at --fps")
    ap.add_argument("--frames", type=int, default=None, help="1 + 4k frames (default: the folder's "
                    "transformer sample_frames, 49 for CogVideoX-2b/5b)")
    ap.add_argument("--height", type=int, default=None, help="multiple of 16 (default: the folder's transformer "
                    "sample_height × 8, as in diffusers' pipeline: 480 for CogVideoX-2b/5b)")
    ap.add_argument("--width", type=int, default=None, help="multiple of 16 (default: the folder's transformer "
                    "sample_width × 8: 720 for CogVideoX-2b/5b)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=6.0)
    ap.add_argument("--dynamic-guidance", "--dynamic-cfg", dest="dynamic_guidance", action="store_true",
                    help="the official dynamic classifier-free guidance schedule (--dynamic-cfg: old name)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 on GPU, fp32 on CPU), bf16, fp16, fp32")
    ap.add_argument("--offload", action="store_true", help="model CPU offload (one model on the GPU at a time)")
    ap.add_argument("--vae-tiling", action="store_true", help="decode in overlapping spatial tiles")
    ap.add_argument("--no-frame-chunking", action="store_true", help="decode the whole clip at once")
    ap.add_argument("--fps", type=int, default=8)
    ap.add_argument("--memory", action="store_true", help="print the computed peak GPU memory and exit")
    args = ap.parse_args(argv)
    try:
        if args.memory:
            if args.dtype != "auto" and args.dtype not in DTYPES:
                raise ValueError(f"unknown --dtype {args.dtype!r}: use auto, bf16, fp16 or fp32")
            dt = torch.bfloat16 if args.dtype == "auto" else DTYPES[args.dtype]   # the GPU's dtype
            print(estimate_memory_for_folder(args.weights, args.frames, args.height, args.width, dtype=dt,
                                             offload=args.offload, vae_tiling=args.vae_tiling,
                                             vae_chunking=not args.no_frame_chunking, setting="this setting"))
            return 0
        if not args.prompt:
            ap.error("--prompt is required (or pass --memory)")
        if Path(args.out).suffix.lower() not in (".mp4", ".gif"):
            raise ValueError(f"--out must end in .mp4 or .gif, got {args.out!r}")
        pipe = CogVideoX.from_pretrained(args.weights, device=args.device,
                                         dtype=None if args.dtype == "auto" else args.dtype,
                                         cpu_offload=args.offload)
        if args.vae_tiling:
            pipe.enable_vae_tiling()
        if args.no_frame_chunking:
            pipe.disable_vae_frame_chunking()
        video = pipe.generate(args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames,
                              height=args.height, width=args.width, steps=args.steps, guidance=args.guidance,
                              seed=args.seed, dynamic_guidance=args.dynamic_guidance, progress=True)
        path = save_video(video, args.out, fps=args.fps)
        print(f"wrote {path} ({video.shape[0]} frames, {video.shape[2]}x{video.shape[1]}, {args.fps} fps)")
        return 0
    except (ValueError, FileNotFoundError, GPUMemoryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
