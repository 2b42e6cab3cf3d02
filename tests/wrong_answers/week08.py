"""Plausible wrong answers to week 8's exercises (tests/test_wrong_answers.py)."""
import torch
import torch.nn.functional as F


def _safc(word_maps, size, kernel=3, mode="nearest", threshold=None, union=True, include_pad=False, norm=True):
    a = F.interpolate(word_maps.float()[:, None], size=tuple(size), mode=mode)          # (R, 1, T, h, w)
    lo, hi = a.amin(dim=(2, 3, 4), keepdim=True), a.amax(dim=(2, 3, 4), keepdim=True)
    flat = (hi - lo) < 1e-12
    if norm:
        a = (a - lo) / (hi - lo).clamp_min(1e-12)
    smooth = F.avg_pool3d(a, (1, kernel, kernel), stride=1, padding=(0, kernel // 2, kernel // 2),
                          count_include_pad=include_pad)
    level = smooth.mean(dim=(2, 3, 4), keepdim=True) if threshold is None else threshold
    on = smooth > level
    if norm:
        on = on | flat
    return (on.any(dim=0) if union else on.all(dim=0))[0].float()


def _soften(binary, decay, kernel=None, extra=0.0):
    """Grow the mask step by step with a 3×3 `kernel` (None: the full square) and record the step."""
    cur = binary > 0.5
    dist = torch.where(cur, 0.0, float("inf"))
    weight = None if kernel is None else kernel[None, None].float()
    for k in range(1, 2 * max(binary.shape[-2:])):
        x = cur.float()[:, None]
        grown = F.max_pool2d(x, 3, 1, 1) if weight is None else F.conv2d(x, weight, padding=1)
        cur = grown[:, 0] > 0.5
        dist = torch.where(cur & torch.isinf(dist), float(k), dist)
    return torch.where(dist > 0, torch.exp(-decay * (dist + extra)), torch.ones_like(dist))


def _soften_euclid(binary, decay):
    T, h, w = binary.shape
    yx = torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij"), -1).reshape(-1, 2).float()
    out = torch.zeros(T, h, w)
    for f in range(T):
        on = binary[f].reshape(-1) > 0.5
        if on.any():
            out[f] = torch.exp(-decay * torch.cdist(yx, yx[on]).amin(1)).reshape(h, w)
    return out


CROSS = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def _dag(candidates, n_worse, omega, worse="first", weight=None, sign=1.0):
    better = candidates.mean(0, keepdim=True)
    pick = {"first": candidates[:n_worse], "last": candidates[-n_worse:], "rest": candidates[n_worse:]}[worse]
    w = (omega - 1) if weight is None else weight(omega)
    return better + w * sign * (better - pick.mean(0, keepdim=True))


WRONG = {
    "safc_mask": [
        (lambda m, s, k=3: _safc(m, s, k, mode="trilinear"), "smooth upsampling instead of nearest",
         r"trilinear.*nearest"),
        (lambda m, s, k=3: _safc(m, s, k, threshold=0.5), "a fixed threshold of 0.5 instead of the map's mean",
         r"fixed threshold of 0\.5"),
        (lambda m, s, k=3: _safc(m, s, k, union=False), "the intersection of the words' masks", r"union"),
        (lambda m, s, k=3: _safc(m, s, k, include_pad=True), "the box filter averages the zero padding",
         r"count_include_pad=False"),
        (lambda m, s, k=3: _safc(m, s, k, norm=False), "no normalisation: a constant map gives no mask",
         r"constant map.*differs"),
    ],
    "soften_edges": [
        (_soften_euclid, "Euclidean distance instead of chessboard", r"Euclidean"),
        (lambda b, d: _soften(b, d, kernel=CROSS), "city-block distance (growing by 4 neighbours)", r"city-block"),
        (lambda b, d: _soften(b, d, extra=1.0), "distance one too large", r"one too large"),
        (lambda b, d: torch.where(b > 0.5, 1.0, torch.exp(torch.tensor(-d))), "no distance at all: one value "
         "outside the mask", r"differs from minicog's"),
    ],
    "dag": [
        (lambda c, n, w: _dag(c, n, w, worse="last"), "V_worse from the last n_worse candidates", r"\*last\*"),
        (lambda c, n, w: _dag(c, n, w, worse="rest"), "V_worse from the candidates after the first n_worse",
         r"\*not\* among the first"),
        (lambda c, n, w: _dag(c, n, w, weight=lambda o: o), "ω instead of ω − 1", r"weight of ω"),
        (lambda c, n, w: _dag(c, n, w, sign=-1.0), "extrapolates towards V_worse", r"wrong way"),
        (lambda c, n, w: _dag(c, n, w)[0], "drops the leading dimension of 1", r"has shape \(2, 3, 4, 4\), expected "
         r"\(1, 2, 3, 4, 4\)"),
    ],
}
