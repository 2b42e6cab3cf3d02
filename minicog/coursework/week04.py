"""Week 4: expert transformer — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch

from .. import attention, rope
from ..checking import assert_close, call, case, exercise
from ..dit import ExpertAdaLayerNorm
from ._common import _randn

__all__ = ["check_expert_adaln", "check_rope_1d", "check_apply_rope", "check_separated_masks"]


@exercise("expert_adaln", "minicog.dit.ExpertAdaLayerNorm", forbid=(ExpertAdaLayerNorm.forward,))
def check_expert_adaln(expert_adaln: Callable) -> int:
    """expert_adaln(text, video, cond, norm, linear) -> ([text | video] modulated, (gate_t, gate_v)),
    vs `minicog.dit.ExpertAdaLayerNorm`."""
    n = 0
    for B, L, N, D, cond_dim in [(2, 3, 5, 8, 4), (1, 7, 12, 16, 6), (2, 0, 4, 8, 4)]:
        torch.manual_seed(n)
        eln = ExpertAdaLayerNorm(D, cond_dim)
        text, video, cond = _randn(B, L, D, seed=n), _randn(B, N, D, seed=n + 1), _randn(B, cond_dim, seed=n + 2)
        with torch.no_grad():
            where = case("expert_adaln", text, video, cond, eln.norm, eln.linear)
            assert_close(call(expert_adaln, where, text, video, cond, eln.norm, eln.linear),
                         eln(text, video, cond), where, "(h, (gate_t, gate_v))")
        n += 1
    return n


@exercise("rope_1d", "minicog.rope.rope_1d", forbid=(rope.rope_1d,))
def check_rope_1d(rope_1d: Callable) -> int:
    """rope_1d(dim, pos, theta) -> (cos, sin) tables (len(pos), dim), each frequency repeated for its
    channel pair, vs `minicog.rope.rope_1d`."""
    n = 0
    for dim, pos, theta in [(4, torch.arange(3), 10000.0), (16, torch.arange(13), 10000.0),
                            (24, torch.tensor([0, 5, 2]), 10000.0), (8, torch.arange(6), 100.0)]:
        where = case("rope_1d", dim, pos, theta=theta)
        assert_close(call(rope_1d, where, dim, pos, theta=theta), rope.rope_1d(dim, pos, theta), where,
                     "(cos, sin)", atol=1e-5, rtol=1e-4)
        n += 1
    return n


@exercise("apply_rope", "minicog.rope.apply_rope_real", forbid=(rope.apply_rope_real, rope.apply_rope))
def check_apply_rope(apply_rope: Callable) -> int:
    """apply_rope(x (..., S, d), cos, sin) -> x·cos + rotate_pairs(x)·sin, vs `rope.apply_rope_real`."""
    n = 0
    for shape, d in [((3, 4), 4), ((2, 2, 6, 8), 8), ((1, 1, 5, 16), 16)]:
        x = _randn(*shape, seed=n)
        cos, sin = rope.rope_1d(d, torch.arange(shape[-2]))
        where = case("apply_rope", x, cos, sin)
        assert_close(call(apply_rope, where, x, cos, sin), rope.apply_rope_real(x, cos, sin), where)
        n += 1
    return n


def _token(i: int, n_text: int, H: int, W: int) -> str:
    """Token i of [text | frame-major video], in words."""
    if i < n_text:
        return f"text token {i}"
    t, p = divmod(i - n_text, H * W)
    return f"video token {i - n_text} (frame {t}, h {p // W}, w {p % W})"


def _mask_mistake(got: tuple, want: tuple, T: int, H: int, W: int, n_text: int) -> str | None:
    """The likely mistake behind masks of the right shape and dtype that differ from minicog's."""
    if T * H * W > 1 and torch.equal(got[0], want[1]) and torch.equal(got[1], want[0]):
        return ("the spatial and temporal masks are swapped: return (spatial, temporal) — spatial "
                "attention mixes the tokens of one frame, temporal attention one position across frames")
    # the same masks with the video tokens ordered position-major (a position's T frames together)
    frame, where = torch.arange(T).repeat(H * W), torch.arange(H * W).repeat_interleave(T)
    for k, (name, group) in enumerate((("spatial", frame), ("temporal", where))):
        wrong = want[k].clone()
        wrong[n_text:, n_text:] = group[:, None] == group[None, :]
        if T > 1 and H * W > 1 and torch.equal(got[k], wrong):
            return (f"your {name} mask orders the video tokens position-major (a position's {T} frames "
                    f"together); minicog's video tokens are frame-major: all {H}×{W} tokens of frame 0, then "
                    "frame 1, … (the order of `patchify`)")
    S = want[1].shape[0]
    eye = torch.eye(S, dtype=torch.bool)
    video_eye = eye.clone()
    video_eye[:n_text] = False
    if T > 1 and any(torch.equal(got[1], want[1] & ~e) for e in (eye, video_eye)):
        return ("the temporal mask leaves out the diagonal: a video token sees its own position in *every* "
                "frame, its own frame included (a token may attend to itself)")
    return None


def _mask_rule(k: int, i: int, j: int, n_text: int) -> str:
    if i < n_text or j < n_text:
        return "every query may attend to the text tokens, and a text query to every token"
    if k == 0:
        return "in the spatial mask a video query sees exactly the video tokens of its own frame (itself included)"
    return ("in the temporal mask a video query sees exactly the video tokens at its own (h, w) in every frame "
            "(itself included)")


@exercise("separated_masks", "minicog.attention.separated_masks", forbid=(attention.separated_masks,))
def check_separated_masks(separated_masks: Callable) -> int:
    """separated_masks(T, H, W, n_text) -> (spatial, temporal) boolean (S, S) masks over [text | video
    frame-major], vs `minicog.attention.separated_masks`; says which rule a wrong entry breaks."""
    cases = [(2, 2, 3, 0), (1, 2, 3, 0), (3, 2, 2, 2), (4, 1, 3, 0), (3, 3, 2, 4), (1, 1, 1, 1), (5, 4, 4, 3)]
    for T, H, W, n_text in cases:
        where = case("separated_masks", T, H, W, n_text=n_text)
        got = call(separated_masks, where, T, H, W, n_text=n_text)
        want = attention.separated_masks(T, H, W, n_text=n_text)
        S = n_text + T * H * W
        pair = isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(m, torch.Tensor) for m in got)
        if pair and n_text and all(tuple(m.shape) == (S - n_text,) * 2 for m in got):
            raise AssertionError(f"{where}: the masks are ({S - n_text}, {S - n_text}); they must cover the "
                                 f"{n_text} text tokens too, in front: ({S}, {S})")
        if not (pair and all(m.dtype == torch.bool and tuple(m.shape) == (S, S) for m in got)):
            assert_close(got, want, where, "(spatial, temporal)")       # says what is off: type, shape, dtype
        mistake = _mask_mistake(tuple(got), want, T, H, W, n_text)
        if mistake:
            raise AssertionError(f"{where}: {mistake}")
        for k, name in enumerate(("spatial", "temporal")):
            bad = got[k] != want[k]
            if bad.any():
                i, j = (int(v) for v in bad.nonzero()[0])
                raise AssertionError(
                    f"{where}: the {name} mask differs in {int(bad.sum())} of {S * S} entries; first at "
                    f"query {_token(i, n_text, H, W)}, key {_token(j, n_text, H, W)}: got {bool(got[k][i, j])}, "
                    f"expected {bool(want[k][i, j])} — {_mask_rule(k, i, j, n_text)}")
    return len(cases)
