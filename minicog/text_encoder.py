"""A tiny text encoder for the course: word-level tokenizer + a small transformer.

CogVideoX conditions its DiT on T5-XXL embeddings (paper §2.2: "text embeddings ... concatenated
with the video tokens"). A frozen 4.7B T5 is far too big for a laptop, and the Shapes world only has
a few dozen words, so the tiny model uses a word-level tokenizer over the Shapes vocabulary and a
2-layer transformer that is trained *jointly* with the DiT.

It sits behind the same interface as the T5 encoder of the scaled path::

    embeds, mask = encoder.encode(["a red circle moving left on a black background"])
    # embeds (B, L, D) float, mask (B, L) bool, True = real token

Every sequence starts with a `<bos>` token, so the empty prompt "" (the null prompt used for
classifier-free guidance) is one real token whose embedding the model learns. Unknown words never
crash: they map to `<unk>` and a `warnings.warn` lists them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .utils import load_model_folder, load_state_dict_strict, save_model_folder
from .words import split_words

PAD, UNK, BOS = "<pad>", "<unk>", "<bos>"
SPECIALS = (PAD, UNK, BOS)


def token_positions(encode: Callable[[str, bool], list[int]], prompt: str, words: Sequence[str],
                    show: Callable[[list[int]], object] | None = None) -> list[int]:
    """Positions of `words` in the tokens of `prompt` (the text axis of the DiT's attention maps).

    `encode(text, is_prompt)` tokenizes as the text encoder does: the whole prompt with its special
    tokens when `is_prompt`, a single word as it appears mid-sentence (no special tokens) otherwise.
    A word of several sub-tokens gives all of them; `show(ids)` renders the prompt's tokens for the
    error message (default: the ids). Used by FlowDirector on both the tiny word tokenizer and T5."""
    seq = list(encode(prompt, True))
    out: list[int] = []
    for w in words:
        sub = list(encode(w, False))
        at = next((i for i in range(len(seq) - len(sub) + 1) if sub and seq[i:i + len(sub)] == sub), None)
        if at is None:
            raise ValueError(f"word {w!r} is not in the prompt {prompt!r} (tokens "
                             f"{show(seq) if show else seq}); pass words that appear in the prompt")
        out += [i for i in range(at, at + len(sub)) if i not in out]
    return out


# ----------------------------------------------------------------------------- tokenizer

class WordTokenizer:
    """Word-level tokenizer: `<pad>`=0, `<unk>`=1, `<bos>`=2, then one id per known word."""

    def __init__(self, words: Iterable[str], max_length: int = 24):
        words = [w for w in dict.fromkeys(words) if w not in SPECIALS]
        self.vocab: list[str] = list(SPECIALS) + words
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.max_length = max_length
        self.pad_id, self.unk_id, self.bos_id = 0, 1, 2

    @classmethod
    def from_captions(cls, captions: Iterable[str], max_length: int = 24) -> "WordTokenizer":
        """Build the vocabulary from a list of captions (e.g. a folder of real clips)."""
        words: set[str] = set()
        for c in captions:
            words.update(split_words(c))
        return cls(sorted(words), max_length)

    def __len__(self) -> int:
        return len(self.vocab)

    def tokenize(self, prompt: str) -> tuple[list[int], list[str]]:
        """ids of one prompt (with `<bos>`, truncated to max_length) and its unknown words."""
        words = split_words(prompt)
        unknown = [w for w in words if w not in self.index]
        ids = [self.bos_id] + [self.index.get(w, self.unk_id) for w in words]
        if len(ids) > self.max_length:
            n = self.max_length - 1                        # the prompt itself is not repeated
            dropped = " ".join(words[n:])
            dropped = dropped if len(dropped) <= 40 else dropped[:37] + "..."
            warnings.warn(f"a prompt of {len(words)} words: keeping the first {n} (max_length="
                          f"{self.max_length}), dropping {dropped!r}", stacklevel=3)
            ids = ids[: self.max_length]
        return ids, unknown

    def __call__(self, prompts: str | Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """prompts → (ids (B, L) long, mask (B, L) bool), right-padded to the longest prompt."""
        if isinstance(prompts, str):
            prompts = [prompts]
        if len(prompts) == 0:
            raise ValueError("encode() needs at least one prompt; use [''] for the null prompt")
        rows, unknown = [], []
        for p in prompts:
            ids, unk = self.tokenize(p)
            rows.append(ids)
            unknown += [w for w in unk if w not in unknown]
        if unknown:
            warnings.warn(f"unknown words mapped to {UNK}: {unknown}. The tiny text encoder only "
                          f"knows {len(self) - len(SPECIALS)} words (see tokenizer.vocab).",
                          stacklevel=2)
        L = max(len(r) for r in rows)
        ids = torch.full((len(rows), L), self.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
        return ids, ids != self.pad_id

    def known_words(self, prompt: str, ignore: Iterable[str] = ()) -> list[str]:
        """The words of `prompt` in the vocabulary, less those in `ignore` (e.g. glue words)."""
        skip = set(ignore)
        return [w for w in split_words(prompt) if w in self.index and w not in skip]

    def check_known(self, prompts: str | Sequence[str], ignore: Iterable[str] = (), hint: str = "") -> None:
        """Raise a ValueError naming the vocabulary when a prompt has no known word besides `ignore`.

        Unknown words become `<unk>`, so such a prompt (a Korean prompt to an English-only model, a
        typo, the empty prompt) would condition on nothing and give an unconditional video. A pipeline
        calls this before generating; `hint` ends the message (how to ask for an unconditional video)."""
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        ignore = set(ignore)
        for p in prompts:
            if not self.known_words(p, ignore):
                words = [w for w in self.vocab if w not in SPECIALS]
                content = [w for w in words if w not in ignore]
                glue = [w for w in words if w in ignore]
                raise ValueError(
                    f"the text encoder knows no word of the prompt {p!r} (read as {split_words(p)}), so it "
                    f"would draw an unconditional video. It knows {len(content)} words: {', '.join(content)}"
                    + (f" (and the glue words {', '.join(glue)})" if glue else "") + "." + (f" {hint}" if hint else ""))

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.vocab[i] for i in ids if i not in (self.pad_id, self.bos_id))


# ----------------------------------------------------------------------------- model

@dataclass
class TextEncoderConfig:
    vocab: list[str] = field(default_factory=list)   # words (specials are added by the tokenizer)
    dim: int = 64          # output embedding size D (must equal the DiT's text dim)
    depth: int = 2
    heads: int = 4
    max_length: int = 24
    dropout: float = 0.0

    @classmethod
    def tiny(cls, vocab: Sequence[str], dim: int = 64) -> "TextEncoderConfig":
        """The tiny model's encoder over `vocab` (for the Shapes world: `shapes.vocabulary()`)."""
        return cls(vocab=list(vocab), dim=dim)


class _Block(nn.Module):
    """Pre-LN transformer block (Vaswani et al. 2017 §3.1 with pre-norm as in GPT-2)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * dim, dim))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, L, 3, self.heads, D // self.heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))             # (B, heads, L, d)
        attn_mask = mask[:, None, None, :]                           # keys: True = attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(y.transpose(1, 2).reshape(B, L, D))
        return x + self.mlp(self.norm2(x))


class TinyTextEncoder(nn.Module):
    """Token + position embeddings → `depth` bidirectional transformer blocks → LayerNorm.

    `forward(ids, mask)` is what the trainer calls (gradients flow); `encode(prompts)` is the
    T5-compatible entry point used by pipelines.
    """

    def __init__(self, config: TextEncoderConfig):
        super().__init__()
        if not config.vocab:
            raise ValueError("TextEncoderConfig.vocab is empty; use TextEncoderConfig.tiny(shapes.vocabulary()) for the "
                             "Shapes vocabulary or WordTokenizer.from_captions(...).vocab")
        if config.dim % config.heads:
            raise ValueError(f"dim={config.dim} must be divisible by heads={config.heads}")
        self.config = config
        self.tokenizer = WordTokenizer(config.vocab, config.max_length)
        self.tok_emb = nn.Embedding(len(self.tokenizer), config.dim)
        self.pos_emb = nn.Parameter(torch.zeros(config.max_length, config.dim))
        self.blocks = nn.ModuleList(_Block(config.dim, config.heads, config.dropout)
                                    for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        nn.init.normal_(self.tok_emb.weight, std=0.02)
        nn.init.normal_(self.pos_emb, std=0.02)

    @property
    def dim(self) -> int:
        return self.config.dim

    @property
    def device(self) -> torch.device:
        return self.tok_emb.weight.device

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ids (B, L) long, mask (B, L) bool → embeddings (B, L, D); padded rows are zeroed."""
        B, L = ids.shape
        x = self.tok_emb(ids) + self.pos_emb[:L]                      # (B, L, D)
        for block in self.blocks:
            x = block(x, mask)
        return self.norm(x) * mask[..., None]

    def encode(self, prompts: str | Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The T5-style interface: prompts → (embeds (B, L, D), mask (B, L) bool)."""
        ids, mask = self.tokenizer(prompts)
        ids, mask = ids.to(self.device), mask.to(self.device)
        return self(ids, mask), mask

    # ------------------------------------------------------------------ save / load
    def save_pretrained(self, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
        return save_model_folder(folder, self.config, self.state_dict(), dtype=dtype)

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None) -> "TinyTextEncoder":
        config, state = load_model_folder(folder, TextEncoderConfig, "TinyTextEncoder",
                                          " (e.g. assets/tiny/text_encoder)")
        model = cls(config)
        load_state_dict_strict(model, state, what=f"text encoder weights in {folder}")
        return model.to(device=device, dtype=dtype).eval()
