"""The text-to-video trainer's settings: `Stage` (one step of the progressive schedule), `TrainConfig`
(whose defaults are the one recipe, the `tiny` preset) and the flat registry of presets, `PRESETS`.

    TrainConfig()                          # the recipe that trained assets/tiny (= TrainConfig.tiny())
    TrainConfig.fast()                     # a few dozen steps, for notebooks and tests
    PRESETS["folder"](data="my_clips/")    # every preset by its CLI name (python -m minicog.train --preset)

Each preset is readable alone (as DiT's `DiT_models`): it names the fields where it differs from the
recipe's defaults, and no preset is built from another. The runs and ablations that chose these
values are in docs/training.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch

from .data import holdout_captions, two_object_holdout_captions
from .sizes import check_frames, check_size
from .utils import config_from_dict

SAMPLE_PROMPTS = ("a red circle moving left on a black background",
                  "a blue square moving up on a white background",
                  "a yellow triangle moving right on a gray background",
                  "a purple circle moving down on a white background")
MIXTURE_PROMPTS = ("a red circle moving left and a blue square moving up on a white background",
                   "회색 배경 위에서 오른쪽으로 움직이는 노란 삼각형")


@dataclass
class Stage:
    """One stage of the progressive schedule: train until global step `until` at `size`×`size`
    pixels on clips of the durations `frames` (1 = still images), drawn with probabilities `mix`,
    from the first `clips[i]` clips of the dataset for duration `frames[i]` (default: all);
    `objects=1` draws only the one-object clips of a Shapes mixture (a curriculum: simple scenes
    first), None all of them. `lr` restarts the learning rate at the stage's first step (a warm
    restart, SGDR): warm-up to `lr`, then a cosine decay to `lr·min_lr_ratio` at the end of the
    stage (or of the next restart); the steps before it keep their own schedule unchanged."""
    until: int
    size: int = 64
    frames: tuple[int, ...] = (17,)
    mix: tuple[float, ...] | None = None
    clips: tuple[int, ...] | None = None
    objects: int | None = None
    lr: float | None = None

    def __post_init__(self):
        self.frames = tuple(check_frames(int(f)) for f in self.frames)
        check_size(self.size)
        for name in ("mix", "clips"):
            v = getattr(self, name)
            if v is None:
                continue
            v = tuple(float(m) if name == "mix" else int(m) for m in v)
            setattr(self, name, v)
            if len(v) != len(self.frames) or min(v) < 0 or sum(v) <= 0:
                raise ValueError(f"Stage {name}={v} must give one non-negative value per duration "
                                 f"in frames={self.frames}")
        if self.objects not in (None, 1):
            raise ValueError(f"Stage objects={self.objects!r}: use 1 (one-object clips only) or None (all clips)")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"Stage lr={self.lr!r}: a restart's peak learning rate must be > 0 (or None: no restart)")

    @property
    def probs(self) -> torch.Tensor:
        m = torch.tensor(self.mix if self.mix is not None else [1.0] * len(self.frames))
        return m / m.sum()

    def num_clips(self, i: int, available: int) -> int:
        """How many clips duration `frames[i]` draws from."""
        return available if self.clips is None else max(1, min(available, self.clips[i]))


def tiny_stages() -> list[Stage]:
    """The recipe's schedule: 3000 steps at 32 px on the one-object clips of the mixture only (the
    direction word is learned there, between steps 2000 and 3000 in the ablations), 3000 more at
    32 px on all of it, 64 px to step 12000 (the end of the first cosine), then a warm restart at
    lr 3e-4 for 14000 more steps at 64 px (the cool-down that teaches squares), a second, lower
    one at lr 1e-4 for 7000 steps, and a third at lr 1e-4 for 7000 more (docs/training.md)."""
    small = dict(size=32, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5))
    large = dict(size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))
    return [Stage(until=3000, objects=1, **small), Stage(until=6000, **small),
            Stage(until=12000, **large), Stage(until=26000, lr=3e-4, **large),
            Stage(until=33000, lr=1e-4, **large), Stage(until=40000, lr=1e-4, **large)]


def progressive_stages() -> list[Stage]:
    """The `folder` schedule (CogVideoX's progressive training): 1000 steps at 32 px, then 64 px to
    step 6500; images and 9- and 17-frame clips mixed, more long clips at 64 px."""
    return [Stage(until=1000, size=32, frames=(1, 9, 17), mix=(0.2, 0.3, 0.5)),
            Stage(until=6500, size=64, frames=(1, 9, 17), mix=(0.1, 0.2, 0.7))]


@dataclass
class TrainConfig:
    """Everything a text-to-video run needs. The defaults are the one recipe that trained the shipped
    model (`make train-tiny`, the `tiny` preset): the Shapes mixture (half the clips two-object
    scenes, a quarter of the captions Korean, the 720 two-object pairs of
    `shapes.compositional_holdout` never shown) after a one-object curriculum (`tiny_stages`),
    progressive 32 px → 64 px with images + 9- and 17-frame clips, one warm-up + cosine schedule from
    1e-3 down to 2e-5 with warm restarts, weight decay on every matrix (nanoGPT's grouping). PyTorch's
    default init, not adaLN-Zero: measured, adaLN-Zero delays the direction word by thousands of steps
    in a model this small (docs/training.md). Sampling defaults of the export: guidance 2.5 with
    timestep shift 2, picked after training on tuning seeds (docs/training.md, "Sampling defaults")."""
    out_dir: str = "runs/tiny"
    data: str = "shapes"                 # "shapes" or a folder of clips + captions (see data.ClipFolder)
    vae: str = "assets/tiny/vae"         # CausalVAE folder (frozen)
    dit: str = "tiny"                    # DiTConfig preset name
    dit_overrides: dict = field(default_factory=dict)
    text_depth: int = 2
    text_heads: int = 4
    num_clips: int = 6144                # clips cached per (size, duration)
    data_seed: int = 0
    holdout: list = field(default_factory=two_object_holdout_captions)   # Shapes captions never shown
    paraphrase: bool = False             # Shapes captions drawn from shapes.PARAPHRASES
    two_objects: float = 0.5             # share of two-object Shapes scenes
    korean: float = 0.25                 # share of Korean Shapes captions
    stages: list = field(default_factory=tiny_stages)
    batch_size: int = 32                 # global batch (split across DDP processes)
    lr: float = 1e-3
    min_lr_ratio: float = 0.02           # cosine decay to lr·min_lr_ratio at the end of each cycle
    warmup: int = 200
    weight_decay: float = 0.01           # on every matrix, none on vectors (train.configure_optimizer)
    zero_init: bool = False              # True: adaLN-Zero (VideoDiT.initialize_weights) for a new model
    betas: tuple = (0.9, 0.99)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    caption_dropout: float = 0.1
    timesteps: str = "logit_normal"      # training-time distribution (rectified_flow.TimestepSampler)
    time_shift: float = 1.0
    init: str | None = None              # start from this pipeline folder's weights (fine-tuning)
    latent_dir: str | None = ""          # VAE latents kept on disk: "" = <out_dir>/latents, None = RAM only
    cache_workers: int = -1              # processes rendering clips for the latent cache (-1: 0 on CPU, up to 8 on GPU)
    sample_every: int = 2000             # sample GIFs every n steps (0: one at the end only)
    sample_prompts: list = field(default_factory=lambda: list(SAMPLE_PROMPTS[:2] + MIXTURE_PROMPTS))
    sample_steps: int = 20               # also the exported pipeline's default steps
    guidance: float = 2.5                # the exported pipeline's default guidance
    sample_shift: float = 2.0            # ... and its default timestep shift (rectified_flow.shift_time)
    save_every: int = 250
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    threads: int = 0                     # CPU threads for torch (0 = torch's default)
    progress: bool = True

    def __post_init__(self):
        self.stages = [s if isinstance(s, Stage) else Stage(**s) for s in self.stages]
        if not self.stages:
            raise ValueError("TrainConfig.stages is empty; give at least one Stage(until=steps)")
        ends = [s.until for s in self.stages]
        if ends != sorted(ends) or len(set(ends)) != len(ends) or ends[0] <= 0:
            raise ValueError(f"stage ends must be positive and strictly increasing, got {ends}")
        self.betas = tuple(self.betas)
        if not 0 <= self.caption_dropout < 1:
            raise ValueError(f"caption_dropout must be in [0, 1), got {self.caption_dropout}")

    @property
    def steps(self) -> int:
        return self.stages[-1].until

    def steps_per_size(self) -> dict[int, int]:
        """How many steps the schedule spends at each resolution, {size: steps} (low → high)."""
        out, start = {}, 0
        for s in self.stages:
            out[s.size] = out.get(s.size, 0) + s.until - start
            start = s.until
        return out

    def stage_at(self, step: int) -> Stage:
        return next((s for s in self.stages if step < s.until), self.stages[-1])

    def with_steps(self, steps: int) -> "TrainConfig":
        """The same schedule stretched or shrunk to `steps` total steps."""
        f = steps / self.steps
        ends = [max(i + 1, round(s.until * f)) for i, s in enumerate(self.stages)]
        ends[-1] = steps
        stages = [replace(s, until=e) for s, e in zip(self.stages, ends)]
        return replace(self, stages=stages, warmup=min(self.warmup, max(1, steps // 10)))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The inverse of `to_dict` (e.g. a run's train_config.json); unknown keys are an error
        (`utils.config_from_dict`, the package's one policy)."""
        return config_from_dict(cls, d, "TrainConfig")

    # ------------------------------------------------------------------ presets
    # Each preset names only the fields where it differs from the defaults (the recipe); `**kw`
    # overrides any field, through from_dict's unknown-key policy.
    @classmethod
    def tiny(cls, **kw) -> "TrainConfig":
        """The tiny model's recipe in one run from random weights: the defaults (assets/tiny is its
        export)."""
        return cls.from_dict(kw)

    @classmethod
    def fast(cls, **kw) -> "TrainConfig":
        """A short run for notebooks and tests: a few dozen steps, the recipe's two sizes in small, on
        one-object English Shapes clips, with adaLN-Zero, a decay to 10 % and the unshifted sampling
        defaults (guidance 4) — the settings notebook 05's figures were measured with."""
        stages = [Stage(until=10, size=32, frames=(1, 9), mix=(0.3, 0.7)),
                  Stage(until=30, size=64, frames=(1, 9, 17), mix=(0.1, 0.3, 0.6))]
        return cls.from_dict({**dict(out_dir="runs/fast", stages=stages, num_clips=64, holdout=[],
                                     two_objects=0.0, korean=0.0, batch_size=8, min_lr_ratio=0.1, warmup=5,
                                     zero_init=True, ema_decay=0.9, sample_every=0, save_every=30,
                                     log_every=1, sample_steps=4, guidance=4.0, sample_shift=1.0,
                                     sample_prompts=list(SAMPLE_PROMPTS[:2])), **kw})

    @classmethod
    def holdout_experiment(cls, **kw) -> "TrainConfig":
        """The recipe with, in addition, 24 of the 216 one-object combinations never shown
        (compositional generalisation of one-object prompts)."""
        return cls.from_dict({**dict(out_dir="runs/holdout",
                                     holdout=holdout_captions() + two_object_holdout_captions()), **kw})

    @classmethod
    def folder(cls, data: str = "clips", **kw) -> "TrainConfig":
        """Real clips from a folder (see data.ClipFolder), CogVideoX's progressive schedule, no sample
        prompts, no Shapes mixture; adaLN-Zero, a decay to 10 % and the unshifted sampling defaults
        (guidance 4), as this preset has always run — not re-measured on real clips."""
        return cls.from_dict({**dict(out_dir="runs/folder", data=data, holdout=[], two_objects=0.0, korean=0.0,
                                     stages=progressive_stages(), num_clips=4096, min_lr_ratio=0.1, warmup=100,
                                     zero_init=True, sample_every=500, sample_prompts=[], guidance=4.0,
                                     sample_shift=1.0), **kw})


PRESETS = {"tiny": TrainConfig.tiny, "fast": TrainConfig.fast,
           "holdout": TrainConfig.holdout_experiment, "folder": TrainConfig.folder}


def resolution_at(plan, step: int) -> int:
    """The frame size a progressive plan trains at on `step` (counted from 0): `plan` lists
    (size, steps) in the order the stages run, e.g. [(32, 1000), (64, 5500)] for
    `progressive_stages()`; past the last stage the run stays at the last size (`TrainConfig.stage_at`
    on the plan's stages). Progressive training never goes down in resolution: sizes that decrease
    are a ValueError."""
    sizes = [int(size) for size, _ in plan]
    if any(b < a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"a progressive plan goes from low to high resolution; got sizes {sizes}")
    stages, end = [], 0
    for size, steps in plan:
        end += int(steps)
        stages.append(Stage(until=end, size=int(size)))
    return TrainConfig(stages=stages, holdout=[]).stage_at(step).size
