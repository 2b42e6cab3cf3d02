"""Plausible wrong answers to week 3's exercises (tests/test_wrong_answers.py)."""
import torch


def _copies(frame, n):
    return frame.expand(-1, -1, n, -1, -1)


def _causal(conv, x):                                   # exercise 3.1's answer, used per chunk below
    k = conv.kernel_size[0]
    return conv(torch.cat([_copies(x[:, :, :1], k - 1), x], dim=2))


def _chunked(past_of, cache_of):
    """A chunked causal conv with a given past before each chunk and a given cache after it."""
    def answer(conv, x, chunk):
        k = conv.kernel_size[0]
        outs, cache = [], None
        for i, a in enumerate(range(0, x.shape[2], chunk)):
            xc = x[:, :, a:a + chunk]
            inp = torch.cat([past_of(i, x, xc, cache, k), xc], dim=2)
            outs.append(conv(inp))
            cache = cache_of(inp, outs[-1], k)
        return torch.cat(outs, dim=2)
    return answer


def _first(i, x, xc, cache, k):
    return _copies(x[:, :, :1], k - 1) if i == 0 else cache


def _roll(inp, out, k):
    return inp[:, :, inp.shape[2] - (k - 1):]


WRONG = {
    "causal_conv3d": [
        (lambda conv, x: conv(torch.cat([x[:, :, :1].repeat(1, 1, conv.kernel_size[0] // 2, 1, 1), x,
                                         x[:, :, -1:].repeat(1, 1, conv.kernel_size[0] // 2, 1, 1)], dim=2)),
         "centred padding (half in front, half behind): frame t sees the future", r"differs"),
        (lambda conv, x: conv(torch.cat([torch.zeros_like(x[:, :, :1]).repeat(1, 1, conv.kernel_size[0] - 1, 1, 1),
                                         x], dim=2)),
         "zeros in front instead of copies of the first frame", r"differs"),
    ],
    "chunked_causal_conv": [
        (lambda conv, x, chunk: torch.cat([_causal(conv, x[:, :, a:a + chunk]) for a in range(0, x.shape[2], chunk)],
                                          dim=2),
         "no cache: each chunk padded with copies of its own first frame",
         r"chunk 1 \(output frames 3–5.*its own first frame"),
        (_chunked(_first, lambda inp, out, k: out[:, :, out.shape[2] - (k - 1):]),
         "the cache holds the last k − 1 output frames instead of input frames",
         r"chunk 1 \(output frames 3–5.*\*output\* frames"),
        (_chunked(_first, lambda inp, out, k: inp[:, :, inp.shape[2] - k:]),
         "a cache of k frames instead of k − 1",
         r"chunk 1 \(frames 3–5\) entered `conv` as 6 frames, its 3 frames plus 3 more; .*needs 2 frames of past"),
        (_chunked(_first, lambda inp, out, k: inp[:, :, -1:]),
         "a cache of 1 frame instead of k − 1",
         r"chunk 1 \(frames 3–5\) entered `conv` as 4 frames, its 3 frames plus 1 more"),
        (_chunked(_first, lambda inp, out, k: _copies(inp[:, :, -1:], k - 1)),
         "the past of a chunk: copies of the previous chunk's last frame",
         r"chunk 1 .*copies of the previous chunk's last frame"),
        (_chunked(lambda i, x, xc, cache, k: torch.zeros_like(_copies(x[:, :, :1], k - 1)) if i == 0 else cache, _roll),
         "the first chunk padded with zeros", r"chunk 0 .*padded with zeros"),
        (_chunked(_first, lambda inp, out, k: inp[:, :, k - 1:][:, :, -(k - 1):] if k > 1 else inp[:, :, :0]),
         "the cache cut from the chunk alone: too short when the chunk is shorter than k − 1 frames",
         r"kernel=5.*chunk=2\): chunk 1 \(frames 2–3\) entered `conv` as 4 frames.*earlier chunks"),
        (lambda conv, x, chunk: _causal(conv, x),
         "the whole clip in one call, ignoring `chunk`", r"chunk 0 \(frames 0–2\) entered `conv` as 11 frames.*it got the whole clip"),
    ],
}
