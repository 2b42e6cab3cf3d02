"""Week 3: causal VAE — the checks of the notebook's graded exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from ..causal_vae import CausalConv3d, conv_cache
from ..checking import assert_close, call, case, exercise, matching_mistake
from ._common import _randn

__all__ = ["check_causal_conv3d", "check_chunked_causal_conv"]


@exercise("causal_conv3d", "minicog.causal_vae.CausalConv3d", forbid=(CausalConv3d.forward,))
def check_causal_conv3d(causal_conv3d: Callable) -> int:
    """causal_conv3d(conv, x): pad time with k − 1 copies of the first frame in front, then `conv`
    (an nn.Conv3d that pads only space), vs minicog's `CausalConv3d` with the same weights."""
    n = 0
    for (B, C, T, H, W), k, out in [((1, 2, 5, 4, 4), 3, 3), ((2, 3, 9, 6, 5), 3, 2), ((1, 2, 1, 4, 4), 3, 2),
                                    ((1, 2, 4, 3, 3), 1, 2), ((1, 1, 6, 5, 5), 5, 1)]:
        torch.manual_seed(n)
        ref = CausalConv3d(C, out, k)
        conv = nn.Conv3d(C, out, k, padding=(0, k // 2, k // 2))
        conv.load_state_dict(ref.conv.state_dict())
        x = _randn(B, C, T, H, W, seed=n)
        with torch.no_grad():
            where = case("causal_conv3d", f"Conv3d(kernel={k})", x)
            assert_close(call(causal_conv3d, where, conv, x), ref(x), where, atol=1e-5, rtol=1e-4)
        n += 1
    return n


# ----------------------------------------------------------------------------- the chunked causal conv

class CountingConv3d(nn.Conv3d):
    """An nn.Conv3d that records how many frames enter it at each call (the exercise's constraint)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[2])
        return super().forward(x)


def _chunks(T: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk, T)) for a in range(0, T, chunk)]


def _run(conv: nn.Conv3d, x: torch.Tensor, chunk: int, past_of: Callable, cache_of: Callable) -> torch.Tensor | None:
    """A chunked conv: `past_of(i, chunk i's frames, cache)` in front of each chunk, then the cache for
    the next chunk is `cache_of(what entered conv, what came out)`. None where it fails to run."""
    outs, cache = [], None
    try:
        for i, (a, b) in enumerate(_chunks(x.shape[2], chunk)):
            inp = torch.cat([past_of(i, x[:, :, a:b], cache), x[:, :, a:b]], dim=2)
            outs.append(conv(inp))
            cache = cache_of(inp, outs[-1])
        return torch.cat(outs, dim=2)
    except RuntimeError:                                 # e.g. output channels ≠ input channels
        return None


def _mistakes(conv: nn.Conv3d, x: torch.Tensor, chunk: int) -> list[tuple[torch.Tensor | None, str]]:
    """(what a likely mistake returns, what went wrong), in the order they are tested."""
    p = conv.kernel_size[0] - 1

    def copies(frame: torch.Tensor) -> torch.Tensor:     # (B, C, 1, H, W) -> (B, C, p, H, W)
        return frame.expand(-1, -1, p, -1, -1)

    def first_then_cache(i, xc, cache):
        return copies(x[:, :, :1]) if i == 0 else cache

    def last_inputs(inp, out):
        return inp[:, :, inp.shape[2] - p:]

    wrong = [
        (lambda i, xc, cache: copies(xc[:, :, :1]), last_inputs,
         "each chunk seems padded with copies of its own first frame, as if it were a clip of its own: only "
         "the clip's very first chunk has no past; every later chunk's past is the input frames just "
         "before it (the cache)"),
        (first_then_cache, lambda inp, out: out[:, :, max(out.shape[2] - p, 0):],
         "the cache seems to hold the conv's *output* frames: it must hold the last *input* frames, the "
         "ones the kernel reaches back to"),
        (first_then_cache, lambda inp, out: copies(inp[:, :, -1:]),
         "the past seems to be copies of the previous chunk's last frame: the kernel reaches back over "
         "several different input frames, and the cache must hold all of them"),
        (lambda i, xc, cache: torch.zeros_like(copies(x[:, :, :1])) if i == 0 else cache, last_inputs,
         "the first chunk seems padded with zeros: the clip's first chunk has no past; pad it with copies "
         "of the first frame, as in exercise 3.1"),
    ]
    return [(_run(conv, x, chunk, past_of, cache_of), why) for past_of, cache_of, why in wrong]


def _assert_calls(calls: list[int], T: int, chunk: int, k: int, where: str, complete: bool = True) -> None:
    """One call of `conv` per chunk, each on that chunk's frames plus k − 1 more (the past). `complete`:
    the answer ran to its end (else only the calls it made are checked)."""
    spans = _chunks(T, chunk)
    for i, (n, (a, b)) in enumerate(zip(calls, spans)):
        if n != b - a + k - 1:
            more = n - (b - a)
            hint = (f"a chunk of {b - a} frames needs {k - 1} frames of past to give {b - a} output frames "
                    f"(the kernel covers {k} frames: the current one and {k - 1} before it)")
            if n >= T + k - 1 > b - a + k - 1:
                hint = (f"it got the whole clip: only the chunk's {b - a} frames (and the cache) may enter "
                        "`conv` at a time")
            elif i > 0 and chunk < k - 1 and more < k - 1:
                hint += "; when a chunk is shorter than that, the cache also keeps frames of earlier chunks"
            raise AssertionError(f"{where}: chunk {i} (frames {a}–{b - 1}) entered `conv` as {n} frames, its "
                                 f"{b - a} frames plus {more} more; {hint}")
    if complete and len(calls) != len(spans):
        raise AssertionError(
            f"{where}: `conv` was called {len(calls)} time{'s' * (len(calls) != 1)} for the {len(spans)} chunks of {chunk} frames "
            f"(of a {T}-frame clip): call it once per chunk, on that chunk's frames and its past"
            + (" (F.conv3d with conv.weight is not counted: call `conv` itself)" if not calls else ""))


@exercise("chunked_causal_conv", "minicog.causal_vae.CausalConv3d on the whole clip",
          forbid=(CausalConv3d.forward, conv_cache))
def check_chunked_causal_conv(chunked_causal_conv: Callable) -> int:
    """chunked_causal_conv(conv, x, chunk): the causal conv of the whole clip computed `chunk` frames at a
    time, one call of `conv` per chunk on its frames plus a cache of earlier input frames, vs minicog's
    `CausalConv3d` (same weights) on the whole clip; names the chunk whose frames first differ and the
    likely mistake (no cache, output frames cached, a cache of the wrong length, ...)."""
    cases = [((1, 2, 9, 4, 4), 3, 2, 3), ((1, 2, 10, 4, 4), 3, 2, 4), ((1, 2, 9, 3, 3), 5, 2, 2),
             ((1, 2, 5, 4, 4), 3, 2, 1), ((2, 3, 11, 4, 3), 3, 2, 5), ((1, 2, 7, 3, 3), 1, 3, 3),
             ((1, 2, 6, 4, 4), 5, 2, 8), ((1, 1, 13, 3, 3), 5, 1, 3)]
    for n, ((B, C, T, H, W), k, out, chunk) in enumerate(cases):
        torch.manual_seed(100 + n)
        ref = CausalConv3d(C, out, k)
        conv = CountingConv3d(C, out, k, padding=(0, k // 2, k // 2))
        conv.load_state_dict(ref.conv.state_dict())
        x = _randn(B, C, T, H, W, seed=100 + n)
        with torch.no_grad():
            want = ref(x)
            where = case("chunked_causal_conv", f"Conv3d(kernel={k})", x, chunk=chunk)
            conv.calls = []
            try:
                got = call(chunked_causal_conv, where, conv, x, chunk)
            except AssertionError:                       # e.g. conv given fewer frames than its kernel
                _assert_calls(conv.calls, T, chunk, k, where, complete=False)
                raise
            _assert_calls(conv.calls, T, chunk, k, where)
            if not isinstance(got, torch.Tensor) or got.shape != want.shape:
                assert_close(got, want, where, "the output")                # says what type or shape
            wrong = ((got.double() - want.double()).abs() > 1e-5 + 1e-4 * want.double().abs()) | got.isnan()
            for i, (a, b) in enumerate(_chunks(T, chunk)):
                first = next((t for t in range(a, b) if wrong[:, :, t].any()), None)
                try:
                    assert_close(got[:, :, a:b], want[:, :, a:b], where,
                                 f"chunk {i} (output frames {a}–{b - 1}; the chunks before it agree; the first "
                                 f"wrong frame is {first}; the index below counts frames from {a})", atol=1e-5, rtol=1e-4)
                except AssertionError as e:
                    why = matching_mistake(got, want, _mistakes(conv, x, chunk), atol=1e-5, rtol=1e-5)
                    raise AssertionError(f"{e} — {why}" if why else str(e)) from None
    return len(cases)
