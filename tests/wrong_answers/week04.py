"""Plausible wrong answers to week 4's exercises (tests/test_wrong_answers.py)."""
import torch


def _shared_modulation(text, video, cond, norm, linear):
    """Both streams modulated by the video expert's (shift, scale): one set for both modalities."""
    shift_v, scale_v, gate_v, shift_t, scale_t, gate_t = linear(cond)[:, None].chunk(6, dim=-1)
    h = torch.cat([norm(text) * (1 + scale_v) + shift_v, norm(video) * (1 + scale_v) + shift_v], dim=1)
    return h, (gate_t, gate_v)


def _experts_swapped(text, video, cond, norm, linear):
    """The first three vectors taken as the text expert's."""
    shift_t, scale_t, gate_t, shift_v, scale_v, gate_v = linear(cond)[:, None].chunk(6, dim=-1)
    h = torch.cat([norm(text) * (1 + scale_t) + shift_t, norm(video) * (1 + scale_v) + shift_v], dim=1)
    return h, (gate_t, gate_v)


def _rope_halves(dim, pos, theta=10000.0):
    """The "rotate half" layout (frequencies repeated as two halves), not interleaved pairs."""
    freqs = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    angles = pos.float()[:, None] * freqs[None]
    return angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)


def _rope_frequency_per_channel(dim, pos, theta=10000.0):
    """θ^(−i/dim) for every channel i instead of one frequency per pair."""
    freqs = 1.0 / theta ** (torch.arange(dim, dtype=torch.float32) / dim)
    angles = pos.float()[:, None] * freqs[None]
    return angles.cos(), angles.sin()


def _rotate_wrong_sign(x, cos, sin):
    """(x₁, −x₀) instead of (−x₁, x₀): the rotation runs backwards."""
    x0, x1 = x.unflatten(-1, (-1, 2)).unbind(-1)
    return x * cos + torch.stack((x1, -x0), dim=-1).flatten(-2) * sin


def _rotate_halves(x, cos, sin):
    """Pairs (x_i, x_{i+d/2}) of the "rotate half" layout instead of neighbouring channels."""
    x0, x1 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x1, x0), dim=-1) * sin


def _masks(frame, where, n_text):
    """(spatial, temporal) from each video token's frame and position: text rows and columns all True."""
    out = []
    for group in (frame, where):
        m = torch.ones(n_text + len(frame), n_text + len(frame), dtype=torch.bool)
        m[n_text:, n_text:] = group[:, None] == group[None, :]
        out.append(m)
    return tuple(out)


def _position_major(T, H, W, n_text=0):
    """Video tokens ordered position by position (a position's T frames together)."""
    return _masks(torch.arange(T).repeat(H * W), torch.arange(H * W).repeat_interleave(T), n_text)


def _frame_major(T, H, W, n_text=0):
    return _masks(torch.arange(T).repeat_interleave(H * W), torch.arange(H * W).repeat(T), n_text)


def _temporal_without_self(T, H, W, n_text=0):
    """Temporal attention as "the same position in the *other* frames"."""
    spatial, temporal = _frame_major(T, H, W, n_text)
    return spatial, temporal & ~torch.eye(len(temporal), dtype=torch.bool)


def _spatial_sees_all_frames(T, H, W, n_text=0):
    """The spatial mask lets a token see every video token (that is full attention)."""
    spatial, temporal = _frame_major(T, H, W, n_text)
    return torch.ones_like(spatial), temporal


def _text_left_out(T, H, W, n_text=0):
    """Masks over the video tokens only."""
    return _frame_major(T, H, W, 0)


def _text_sees_only_text(T, H, W, n_text=0):
    """Text queries kept to the text (they see every token in minicog's separated attention)."""
    spatial, temporal = _frame_major(T, H, W, n_text)
    for m in (spatial, temporal):
        m[:n_text, n_text:] = False
    return spatial, temporal


WRONG = {
    "expert_adaln": [
        (_shared_modulation, "one (shift, scale) for text and video", r"differs"),
        (_experts_swapped, "the text and video experts' vectors swapped", r"differs"),
    ],
    "rope_1d": [
        (_rope_halves, "the rotate-half layout instead of interleaved pairs", r"differs"),
        (_rope_frequency_per_channel, "a frequency per channel, not per pair", r"differs"),
    ],
    "apply_rope": [
        (_rotate_wrong_sign, "the rotation's sign flipped", r"differs"),
        (_rotate_halves, "pairs of the rotate-half layout", r"differs"),
    ],
    "separated_masks": [
        (_position_major, "video tokens in position-major order", r"position-major.*frame-major"),
        (_temporal_without_self, "the temporal mask without the diagonal", r"leaves out the diagonal"),
        (lambda T, H, W, n_text=0: _frame_major(T, H, W, n_text)[::-1], "spatial and temporal swapped",
         r"swapped"),
        (_spatial_sees_all_frames, "the spatial mask includes the other frames",
         r"spatial mask differs.*got True, expected False.*own frame"),
        (_text_left_out, "no text tokens in front", r"must cover the 2 text tokens too"),
        (_text_sees_only_text, "text queries do not see the video", r"text query to every token"),
    ],
}
