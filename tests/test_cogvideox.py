"""Scaled path (minicog.cogvideox) vs diffusers' CogVideoXPipeline on random toy checkpoints saved in the
official folder layout (sharded transformer, tiny T5 + tokenizer built offline; see notebooks/toy_cogvideox.py)."""
import json
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from toy_cogvideox import (SAMPLE, build_cogvideox_folder, build_diffusers_test_folder,  # noqa: E402
                                copy_without_text_encoder)
import diffusers  # noqa: E402
from diffusers import CogVideoXPipeline  # noqa: E402

from minicog import cogvideox_cli, memory  # noqa: E402
from minicog.cogvideox import CogVideoX, GPUMemoryError  # noqa: E402
from minicog.flowdirector import DAG  # noqa: E402

F, H, W = SAMPLE["frames"], SAMPLE["height"], SAMPLE["width"]   # the toy checkpoints' sample size (9×64×96)
h, w = 32, 48          # a smaller size (latents 4×6) where the test does not need tiles: CPU time


def rel_err(a, b):
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("cogvideox")
    return {v: build_cogvideox_folder(root / f"CogVideoX-{v}", v) for v in ("2b", "5b", "5b-dpm")}


@pytest.fixture(scope="session")
def pipes(folders):
    return {v: CogVideoX.from_pretrained(f, device="cpu") for v, f in folders.items()}


@pytest.fixture(scope="session")
def refs(folders):
    out = {}
    for v, f in folders.items():
        out[v] = CogVideoXPipeline.from_pretrained(f)
        out[v].set_progress_bar_config(disable=True)
    return out


@pytest.fixture(scope="session")
def embeds(refs):
    """(prompt, negative) T5 embeddings (1, 226, 32) made by diffusers' own encode_prompt."""
    return refs["5b"].encode_prompt("a red circle moving left", "", device="cpu")


def test_fixture_is_the_official_layout(folders):
    f = folders["5b"]
    index = json.loads((f / "transformer" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) >= 2                       # sharded
    assert json.loads((f / "model_index.json").read_text())["_class_name"] == "CogVideoXPipeline"
    for part in ("vae/config.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "tokenizer"):
        assert (f / part).exists(), part


@pytest.mark.parametrize("variant", ["2b", "5b"])
@pytest.mark.parametrize("latent_size", [(3, 8, 12), (2, 4, 6)])
def test_transformer_parity(pipes, refs, variant, latent_size):
    """minicog's VideoDiT loaded from the sharded folder == diffusers' CogVideoXTransformer3DModel."""
    pipe, ref = pipes[variant], refs[variant]
    T, h, w = latent_size
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, T, h, w, generator=g)
    text = torch.randn(2, 226, 32, generator=g)
    t = torch.tensor([999, 321])
    rot = (ref._prepare_rotary_positional_embeddings(h * 8, w * 8, T, torch.device("cpu"))
           if ref.transformer.config.use_rotary_positional_embeddings else None)
    with torch.no_grad():
        theirs = ref.transformer(hidden_states=x.permute(0, 2, 1, 3, 4), encoder_hidden_states=text, timestep=t,
                                 image_rotary_emb=rot, return_dict=False)[0].permute(0, 2, 1, 3, 4)
        ours = pipe.dit(x, t, text)
    assert rel_err(ours, theirs) < 1e-5


@pytest.mark.parametrize("tiling", [False, True])
def test_vae_parity(pipes, refs, tiling):
    """Encode (posterior mean, 9 frames) and decode (5 latent frames: chunks of 3 + 2 with the default
    frame chunking); with tiling, a tiled decode (48×40 px tiles, half the toy VAE's sample size).
    (An odd number of latent frames: for an even number diffusers' decoder returns 4·T frames, not
    1 + 4·(T − 1) — see docs/scaled_path.md.)"""
    pipe, ref = pipes["5b"], refs["5b"]
    g = torch.Generator().manual_seed(2)
    size = (56, 48) if tiling else (h, w)                     # tiled: 2×2 tiles of 48×40 px
    z = torch.randn(1, 4, 3 if tiling else 5, size[0] // 8, size[1] // 8, generator=g)
    with torch.no_grad():
        if not tiling:
            video = torch.rand(1, 3, F, h, w, generator=g) * 2 - 1
            assert rel_err(pipe.vae.encode(video).mean, ref.vae.encode(video).latent_dist.mean) < 1e-5
            decoded, theirs = pipe.vae.decode(z), ref.vae.decode(z).sample
        else:
            pipe.enable_vae_tiling()
            ref.vae.enable_tiling()
            try:
                decoded, theirs = pipe.vae.decode(z), ref.vae.decode(z).sample
            finally:
                pipe.disable_vae_tiling()
                ref.vae.disable_tiling()
    assert decoded.shape == (1, 3, 4 * z.shape[2] - 3, *size)
    assert rel_err(decoded, theirs) < 1e-5


@pytest.mark.parametrize("variant,steps,batch", [("2b", 10, 2), ("5b", 50, 1), ("5b-dpm", 2, 1), ("5b-dpm", 50, 1)])
def test_denoise_parity_with_diffusers(pipes, refs, embeds, variant, steps, batch):
    """The whole loop (the folder's scheduler: DDIM, or DPM with its step noise) + CFG ==
    CogVideoXPipeline(output_type="latent") from the same embeddings, noise and generator (fp32, dynamic
    CFG off), to < 1e-4 max relative error."""
    pipe, ref = pipes[variant], refs[variant]
    assert type(pipe.scheduler).diffusers_class == type(ref.scheduler).__name__
    emb, neg = (e.repeat(batch, 1, 1) for e in embeds)
    noise = torch.randn(batch, 4, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(3))
    ours = pipe.denoise(emb, neg, noise, steps=steps, guidance=6.0, generator=torch.Generator().manual_seed(11))
    theirs = ref(prompt_embeds=emb, negative_prompt_embeds=neg, latents=noise.permute(0, 2, 1, 3, 4),
                 num_frames=F, height=h, width=w, num_inference_steps=steps, guidance_scale=6.0,
                 generator=torch.Generator().manual_seed(11), output_type="latent").frames.permute(0, 2, 1, 3, 4)
    err = rel_err(ours, theirs)
    assert ours.shape == noise.shape and err < 1e-4, err
    assert rel_err(ours, noise) > 0.1                          # it did move
    if variant == "5b-dpm" and steps == 2:                     # the step noise comes from the generator
        other = pipe.denoise(emb, neg, noise, steps=steps, guidance=6.0, generator=torch.Generator().manual_seed(12))
        assert rel_err(other, ours) > 100 * err


def test_dynamic_guidance_parity(pipes, refs, embeds):
    pipe, ref = pipes["5b"], refs["5b"]
    noise = torch.randn(1, 4, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(4))
    ours = pipe.denoise(*embeds, noise, steps=8, guidance=6.0, dynamic_guidance=True)
    theirs = ref(prompt_embeds=embeds[0], negative_prompt_embeds=embeds[1], latents=noise.permute(0, 2, 1, 3, 4),
                 num_frames=F, height=h, width=w, num_inference_steps=8, guidance_scale=6.0,
                 use_dynamic_cfg=True, output_type="latent").frames.permute(0, 2, 1, 3, 4)
    err = rel_err(ours, theirs)
    assert err < 1e-4
    static = pipe.denoise(*embeds, noise, steps=8, guidance=6.0)
    assert rel_err(ours, static) > 100 * err                   # dynamic CFG does change the result


def test_encode_prompt_matches_diffusers(pipes, embeds):
    emb, mask = pipes["5b"].encode_prompt(["a red circle moving left", ""])
    assert emb.shape == (2, 226, 32) and mask.shape == (2, 226)
    assert rel_err(emb[:1], embeds[0]) < 1e-5 and rel_err(emb[1:], embeds[1]) < 1e-5
    assert mask[0].sum() == 6 and mask[1].sum() == 1           # 5 words + </s>; "" is just </s>
    tokens = pipes["5b"].prompt_tokens("a red circle")
    assert len(tokens) == 226 and tokens[:4] == ["▁a", "▁red", "▁circle", "</s>"]


@pytest.mark.parametrize("variant", ["5b", "5b-dpm"])
def test_generate_end_to_end_matches_diffusers(pipes, refs, variant):
    """Prompt → T5 → denoise → VAE → uint8, against the diffusers pipeline with the same seed (for DPM the
    seed's generator also gives every step's noise)."""
    prompt = "a panda playing guitar in a bamboo forest"
    video = pipes[variant].generate(prompt, height=h, width=w, steps=4, guidance=6.0, seed=7, progress=False)
    ref = refs[variant](prompt, num_frames=F, height=h, width=w, num_inference_steps=4, guidance_scale=6.0,
                     generator=torch.Generator().manual_seed(7), output_type="np").frames[0]
    ref = (ref * 255).round().astype(np.int64)
    assert video.dtype == np.uint8 and video.shape == (F, h, w, 3)
    diff = np.abs(video.astype(np.int64) - ref)
    assert diff.max() <= 1 and diff.mean() < 0.01              # equal up to rounding at .5 boundaries
    assert video.std() > 5                                     # not a constant image


# diffusers' own CogVideoX test components (tests/pipelines/cogvideo), saved as a folder with each scheduler
# CogVideoXPipeline may be given: minicog samples as CogVideoXPipeline does, or refuses at load time
DIFFUSERS_TEST_SCHEDULERS = {
    "DDIMScheduler()": (diffusers.DDIMScheduler, {}, None),                 # what diffusers' tests use
    "CogVideoXDDIMScheduler()": (diffusers.CogVideoXDDIMScheduler, {}, None),
    "CogVideoXDPMScheduler()": (diffusers.CogVideoXDPMScheduler, {}, None),
    "DDIMScheduler(thresholding=True)": (diffusers.DDIMScheduler, {"thresholding": True},
                                         r"DDIMScheduler with thresholding=True is not supported"),
    "EulerDiscreteScheduler()": (diffusers.EulerDiscreteScheduler, {},
                                 r"scheduler class 'EulerDiscreteScheduler' is not supported"),
    "DPMSolverMultistepScheduler()": (diffusers.DPMSolverMultistepScheduler, {},
                                      r"scheduler class 'DPMSolverMultistepScheduler' is not supported"),
}


@pytest.mark.parametrize("name", list(DIFFUSERS_TEST_SCHEDULERS))
def test_diffusers_test_components_sample_as_diffusers_or_refuse(name, tmp_path):
    """No folder loads and samples differently from CogVideoXPipeline: same latents (2 steps, CFG 6, the same
    seed; the transformer's max_text_seq_length = 16 sets the prompt length), or a ValueError at load time."""
    cls, kw, refusal = DIFFUSERS_TEST_SCHEDULERS[name]
    folder = build_diffusers_test_folder(tmp_path / "cog", cls(**kw))
    if refusal:
        with pytest.raises(ValueError, match=refusal):
            CogVideoX.from_pretrained(folder, device="cpu")
        return
    pipe = CogVideoX.from_pretrained(folder, device="cpu")
    assert type(pipe.scheduler).diffusers_class == cls.__name__ and pipe.text_length == 16
    assert pipe.encode_prompt("dance monkey")[0].shape == (1, 16, 32)
    _, ours = pipe.generate("dance monkey", num_frames=9, height=16, width=16, steps=2, guidance=6.0, seed=0,
                            progress=False, return_latents=True)
    ref = CogVideoXPipeline.from_pretrained(folder)
    ref.set_progress_bar_config(disable=True)
    theirs = ref("dance monkey", num_frames=9, height=16, width=16, num_inference_steps=2, guidance_scale=6.0,
                 max_sequence_length=16, generator=torch.Generator().manual_seed(0),
                 output_type="latent").frames.permute(0, 2, 1, 3, 4)
    assert rel_err(ours, theirs) < 1e-4


def test_conditioned_checkpoints_are_refused_for_what_they_are(tmp_path):
    """diffusers' CogVideoX-Fun control test transformer (8 input channels = 4 latent + 4 control) and an
    image-to-video / Fun folder by its model_index name: the error says image- or control-conditioned."""
    folder = build_diffusers_test_folder(tmp_path / "fun", diffusers.DDIMScheduler(), in_channels=8)
    with pytest.raises(ValueError, match=r"8 input channels = the VAE's 4 latent channels \+ 4 conditioning "
                                         r"channels: an image- or control-conditioned checkpoint"):
        CogVideoX.from_pretrained(folder, device="cpu")
    index = folder / "model_index.json"
    for cls, kind in (("CogVideoXFunControlPipeline", "control- or inpaint-conditioned"),
                      ("CogVideoXImageToVideoPipeline", "image-conditioned")):
        index.write_text(json.dumps({**json.loads(index.read_text()), "_class_name": cls}))
        with pytest.raises(ValueError, match=f"{cls} checkpoint, {kind}"):
            CogVideoX.from_pretrained(folder, device="cpu")


def test_folder_without_text_encoder_denoises(folders, pipes, embeds, tmp_path):
    f = copy_without_text_encoder(folders["5b"], tmp_path / "no-t5")
    pipe = CogVideoX.from_pretrained(f, device="cpu")
    assert not pipe.has_text_encoder and pipes["5b"].has_text_encoder
    noise = torch.randn(1, 4, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(5))
    out = pipe.denoise(*embeds, noise, steps=3)
    assert torch.equal(out, pipes["5b"].denoise(*embeds, noise, steps=3))
    with pytest.raises(FileNotFoundError, match="text_encoder"):
        pipe.generate("a red circle", steps=2)
    with pytest.raises(FileNotFoundError, match="denoise"):
        pipe.encode_prompt("a red circle")


def test_clear_errors(folders, pipes, embeds, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CogVideoX.from_pretrained(tmp_path / "nope")
    partial = tmp_path / "partial"
    shutil.copytree(folders["5b"], partial, ignore=shutil.ignore_patterns("transformer"))
    with pytest.raises(FileNotFoundError, match=r"missing \['transformer'\]"):
        CogVideoX.from_pretrained(partial)
    for dtype in (torch.bfloat16, "fp16"):
        with pytest.raises(ValueError, match="float32 on the CPU"):
            CogVideoX.from_pretrained(folders["5b"], device="cpu", dtype=dtype)
    with pytest.raises(ValueError, match="unknown dtype"):
        CogVideoX.from_pretrained(folders["5b"], device="cpu", dtype="int8")
    pipe = pipes["5b"]
    with pytest.raises(ValueError, match=r"1\+4k"):
        pipe.generate("a cat", num_frames=10)
    with pytest.raises(ValueError, match="multiple of 16"):
        pipe.generate("a cat", height=72)
    noise = torch.randn(1, 4, 3, h // 8, w // 8)
    with pytest.raises(ValueError, match="negative_text_embeds"):
        pipe.denoise(embeds[0], None, noise, steps=2, guidance=6.0)
    with pytest.raises(ValueError, match=r"\(B, T, C, h, w\)"):
        pipe.denoise(*embeds, torch.randn(1, 3, 4, 4, 6), steps=2)        # diffusers' layout
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pipe.velocity(noise, 1.5, embeds[0])
    with pytest.raises(ValueError, match="does not tile evenly"):
        pipe.enable_vae_tiling(tile_height=32)                 # 32·(1/6) px is not a whole latent pixel
    assert not pipe.vae.use_tiling


# ----------------------------------------------------------------------------- v-prediction → RF velocity

class _OracleV(torch.nn.Module):
    """A 'transformer' that returns the exact v = a·ε − b·x0 of known (x0, ε) at its (integer) timestep."""

    def __init__(self, config, scheduler, x0, eps):
        super().__init__()
        self.config, self.scheduler, self.x0, self.eps = config, scheduler, x0, eps

    def forward(self, x, timestep, text):
        ac = self.scheduler.alphas_cumprod[timestep.round().long()].reshape(-1, 1, 1, 1, 1)
        return (ac.sqrt() * self.eps - (1 - ac).sqrt() * self.x0).float()


def test_velocity_of_exact_v_is_eps_minus_x0(pipes, embeds):
    real = pipes["5b"]
    sched = real.scheduler
    g = torch.Generator().manual_seed(6)
    x0, eps = torch.randn(3, 4, 3, 4, 6, generator=g), torch.randn(3, 4, 3, 4, 6, generator=g)
    pipe = CogVideoX(_OracleV(real.dit.config, sched, x0, eps), real.vae, sched, device="cpu")
    t = torch.tensor([999, 500, 37])
    s = sched.rf_time(t)                                                   # (3,) float64
    z = (1 - s.view(-1, 1, 1, 1, 1)) * x0 + s.view(-1, 1, 1, 1, 1) * eps    # RF state at s
    u = pipe.velocity(z.float(), s, embeds[0].repeat(3, 1, 1))
    assert (u - (eps - x0)).abs().max() < 1e-5
    # the same conversion as the scheduler's, on the real model at an integer timestep
    x_t = sched.add_noise(x0[:1], eps[:1], 500)
    v = real.dit(x_t, torch.tensor([500]), embeds[0])
    z, s500 = sched.vp_to_rf(x_t, 500)
    u_pipe = real.velocity(z, s500, embeds[0])
    assert rel_err(u_pipe, sched.v_to_velocity(v, x_t, 500)) < 1e-5


def test_rf_euler_on_converted_velocity_is_ddim(pipes, embeds):
    """DDIM (η = 0) with v-prediction is exactly Euler on the RF state z = x/(a+b) over s_i = rf_time(t_i):
    one step from the noise, and the whole guided loop through minicog.rectified_flow.sample."""
    from minicog.rectified_flow import sample
    pipe = pipes["5b"]
    emb, neg = embeds
    noise = torch.randn(1, 4, 3, h // 8, w // 8, generator=torch.Generator().manual_seed(8))
    grid = pipe.rf_grid(10)
    assert grid[0] == 1.0 and grid[-1] == 0.0 and torch.all(grid[1:] < grid[:-1])
    # one unguided step
    ddim_1 = pipe.scheduler.step(pipe.dit(noise, torch.tensor([999]), emb), 999, noise)
    z_1 = noise + (grid[1] - grid[0]).float() * pipe.velocity(noise, grid[0], emb)
    assert rel_err(z_1 * (1 / ((1 - grid[1]) ** 2 + grid[1] ** 2).sqrt()).float(), ddim_1) < 1e-5
    # the whole loop with CFG 6
    ddim = pipe.denoise(emb, neg, noise, steps=10, guidance=6.0)
    rf = sample(pipe.velocity_model, noise, (emb, None), (neg, None), guidance=6.0, times=grid, progress=False)
    assert rel_err(rf, ddim) < 1e-4                                         # z = x at s = 0


# ----------------------------------------------------------------------------- savers, memory, CLI

def test_model_cpu_offload_keeps_one_model_on_the_device(folders, pipes, embeds):
    pipe = CogVideoX.from_pretrained(folders["5b"], device="cpu", cpu_offload=True)
    kw = dict(height=h, width=w, steps=2, seed=1, progress=False)
    out = pipe.generate("a red circle", **kw)
    assert np.array_equal(out, pipes["5b"].generate("a red circle", **kw))
    # the placement logic, with a pretend GPU (no tensors move)
    moves, offload = [], pipe._offload
    offload.move = lambda name, module, device: (moves.append((name, str(device))),
                                                 offload.placement.__setitem__(name, device))
    offload.device = torch.device("cuda")
    on_gpu = lambda: sorted(n for n, d in offload.placement.items() if d.type == "cuda")   # noqa: E731
    for name in ("text_encoder", "dit", "dit", "vae"):
        pipe._use(name)
        assert on_gpu() == [name]
    pipe._release()
    assert on_gpu() == []
    assert ("text_encoder", "cuda") in moves and ("text_encoder", "cpu") in moves
    pipe.disable_model_cpu_offload()
    assert on_gpu() == ["dit", "text_encoder", "vae"]


def test_t5_param_formula_matches_transformers(pipes):
    te = pipes["5b"].text_encoder
    c = te.config
    n = memory.t5_encoder_params(c.vocab_size, c.d_model, c.d_kv, c.num_heads, c.d_ff, c.num_layers,
                                 c.relative_attention_num_buckets)
    assert n == sum(p.numel() for p in te.parameters())


def test_memory_estimates_for_a_24gb_gpu():
    """Computed (meta-device trace) peaks for the real 5B configs at 49×480×720 with CFG."""
    dit, vae = memory.preset_configs("5b")
    est = lambda **kw: memory.estimate_memory(dit, vae, 49, 480, 720, **kw)         # noqa: E731
    fp32, bf16, chunk, offload = est(dtype=torch.float32), est(vae_chunking=False), est(), est(offload=True)
    assert 5.5e9 < chunk.weights["transformer"] / 2 < 5.65e9                 # ~5.57 B parameters in bf16
    assert 4.7e9 < chunk.weights["text_encoder"] / 2 < 4.8e9                 # T5-XXL encoder, 4.76 B
    assert all(fp32.weights[k] == 2 * chunk.weights[k] for k in chunk.weights)
    assert bf16.activations["vae"] > 3 * chunk.activations["vae"]            # frame chunking (2 latent frames)
    assert offload.peak < chunk.peak < bf16.peak and chunk.peak < fp32.peak
    assert offload.peak_stage == "transformer" and chunk.peak_stage == "vae"
    assert memory.with_margin(offload.peak) < 24e9 < chunk.peak          # offload is what makes 24 GB work
    # 3D full attention: materialising the (226 + 17550)² score matrix would cost > 50 GiB more
    math = est(offload=True, attention="math")
    assert math.activations["transformer"] - offload.activations["transformer"] > 50 * 2**30
    # spatial tiling (at a smaller size, to keep the trace short): 2×2 tiles of 96×160 px
    tile = (96, 160, 1 / 6, 1 / 5)
    untiled = memory.estimate_memory(dit, vae, 13, 192, 320, vae_tile=tile)
    tiled = memory.estimate_memory(dit, vae, 13, 192, 320, vae_tile=tile, vae_tiling=True)
    assert tiled.activations["vae"] < 0.6 * untiled.activations["vae"]


def test_memory_trace_patches_nothing():
    """The estimator measures from outside: attention through a TorchFunctionMode, the VAE's tiles through
    the `decode_frames` callback of `CausalVAE.decode`. Nothing is replaced, during or after a trace."""
    sdpa = torch.nn.functional.scaled_dot_product_attention
    q = torch.empty(1, 2, 300, 8, device="meta")
    math = memory.trace_peak_bytes(lambda: sdpa(q, q, q))
    with memory.FusedAttention():
        fused = memory.trace_peak_bytes(lambda: sdpa(q, q, q))
        assert torch.nn.functional.scaled_dot_product_attention is sdpa
    assert fused == 1 * 2 * 300 * 8 * 4 < math                   # only the output, not the 300² scores
    dit, vae = memory.preset_configs("2b")
    e = memory.estimate_memory(dit, vae, 5, 192, 320, vae_tiling=True, vae_tile=(96, 160, 1 / 6, 1 / 5))
    assert e.activations["vae"] > 0 and torch.nn.functional.scaled_dot_product_attention is sdpa


def test_check_memory_names_a_saver(pipes):
    pipe = pipes["5b"]
    est = pipe.estimate_memory()
    assert pipe.check_memory(available=10**12).peak == est.peak
    with pytest.raises(GPUMemoryError, match="enable_"):
        pipe.check_memory(available=int(pipe.estimate_memory(offload=True, vae_tiling=True).peak * 1.1) + 2**29 + 1)
    with pytest.raises(GPUMemoryError, match="smaller size"):
        pipe.check_memory(available=1)


def test_cli_end_to_end(folders, tmp_path, capsys):
    from minicog.video import load_video
    out = tmp_path / "out.mp4"
    rc = cogvideox_cli.main(["--weights", str(folders["2b"]), "--prompt", "a red circle moving left",
                             "--out", str(out), "--steps", "3", "--seed", "1", "--height", str(h), "--width", str(w),
                             "--vae-tiling"])               # 48×40 px tiles: two tiles across the 48 px width
    assert rc == 0 and out.is_file()
    video = load_video(out)
    assert video.shape == (F, h, w, 3) and video.std() > 5
    assert cogvideox_cli.main(["--weights", str(folders["2b"]), "--prompt", "x", "--frames", "8"]) == 2
    assert "1+4k" in capsys.readouterr().err
    assert cogvideox_cli.main(["--weights", str(folders["2b"]), "--memory"]) == 0
    assert "computed, not measured" in capsys.readouterr().out


def test_help_says_what_happens(capsys):
    """`--help` prints argparse's help (python -m minicog.memory printed its table instead), and the scaled
    CLI says where the default size comes from: the folder's transformer config, not a fixed 480×720."""
    for main in (memory.main, cogvideox_cli.main):
        with pytest.raises(SystemExit) as exit_:
            main(["--help"])
        assert exit_.value.code == 0
        out = " ".join(capsys.readouterr().out.split())                   # argparse wraps at the terminal's width
        assert out.startswith("usage: python -m minicog.") and "| 5B |" not in out
        if main is cogvideox_cli.main:
            assert "sample_height × 8" in out and "sample_width × 8" in out and "(default 480)" not in out


def test_flowdirector_runs_on_the_scaled_pipeline(pipes):
    """The editing code drives CogVideoX through encode_video / encode_prompt / velocity / dit.record_attention
    / decode_latents, exactly as the tiny pipeline (here: random weights, so only the plumbing is checked)."""
    pipe = pipes["5b"]
    src, tar = "a red circle moving left", "a blue circle moving left"
    assert pipe.token_indices(src, ["red"]) == [1] and pipe.token_indices(tar, ["blue", "circle"]) == [1, 2]
    video = (np.random.default_rng(0).random((F, h, w, 3)) * 255).astype(np.uint8)
    seen = []
    out = pipe.edit(video, src, tar, method="flowdirector", steps=4, n_max=3, n_avg=2, dag=DAG(n_worse=1),
                    callback=lambda info: seen.append(sorted(info)))
    assert out.shape == (F, h, w, 3) and out.dtype == np.uint8
    assert len(seen) == 3 and any("mask" in keys for keys in seen)          # the attention mask was built
