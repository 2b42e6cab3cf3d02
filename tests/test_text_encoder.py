"""Tiny text encoder: tokenizer (unknown words, null prompt, truncation), masking, save/load, and
that it can learn the Shapes attributes."""
import warnings

import pytest
import torch

from minicog import shapes
from minicog.shapes import vocabulary as shapes_vocabulary
from minicog.text_encoder import TextEncoderConfig, TinyTextEncoder, WordTokenizer, split_words

CAPTION = "a red circle moving left on a black background"


def make(dim=32, depth=2, seed=0):
    torch.manual_seed(seed)
    return TinyTextEncoder(TextEncoderConfig.tiny(shapes_vocabulary(), dim=dim) if depth == 2 else
                           TextEncoderConfig(vocab=shapes_vocabulary(), dim=dim, depth=depth))


def test_vocabulary_covers_every_caption_and_paraphrase():
    tok = WordTokenizer(shapes_vocabulary())
    for combo in shapes.all_combinations()[::7]:
        for template in shapes.PARAPHRASES:
            with warnings.catch_warnings():
                warnings.simplefilter("error")          # no unknown-word warning allowed
                ids, mask = tok([shapes.caption(**combo, template=template)])
            assert (ids[mask] != tok.unk_id).all()
    for words in (shapes.COLORS, shapes.SHAPES, shapes.DIRECTIONS, shapes.BACKGROUNDS):
        assert set(words) <= set(tok.vocab)


def test_tokenizer_ids_mask_and_decode():
    tok = WordTokenizer(shapes_vocabulary())
    ids, mask = tok([CAPTION, "A RED square!"])
    assert ids.shape == mask.shape == (2, 1 + len(CAPTION.split()))
    assert ids[:, 0].eq(tok.bos_id).all()                  # every row starts with <bos>
    assert mask[0].all() and mask[1].sum() == 4
    assert (ids[~mask] == tok.pad_id).all()
    assert tok.decode(ids[0]) == CAPTION
    assert tok.decode(ids[1]) == "a red square"
    assert split_words("Red,  circle.") == ["red", "circle"]


def test_unknown_words_warn_and_map_to_unk():
    enc = make()
    with pytest.warns(UserWarning, match=r"unknown words.*'pink'.*'blob'"):
        emb, mask = enc.encode(["a pink blob moving left", CAPTION])
    ids, _ = enc.tokenizer.tokenize("a pink blob moving left")
    assert ids[2] == ids[3] == enc.tokenizer.unk_id
    assert torch.isfinite(emb).all() and mask.shape == (2, 10)


def test_null_prompt_is_one_real_token():
    enc = make()
    emb, mask = enc.encode([""])
    assert mask.tolist() == [[True]]
    assert torch.isfinite(emb).all() and emb.abs().sum() > 0


def test_bad_inputs_raise_clear_errors():
    enc = make()
    with pytest.raises(ValueError, match="at least one prompt"):
        enc.encode([])
    with pytest.raises(ValueError, match="must be strings"):
        enc.encode([3])
    with pytest.raises(ValueError, match="vocab is empty"):
        TinyTextEncoder(TextEncoderConfig(vocab=[]))
    with pytest.warns(UserWarning, match="keeping the first"):
        ids, _ = enc.tokenizer(["red " * 40])
    assert ids.shape[1] == enc.config.max_length


def test_padding_does_not_change_embeddings():
    """A prompt encoded alone equals the same prompt padded next to a longer one."""
    enc = make().eval()
    alone, m1 = enc.encode(["a red circle"])
    batch, m2 = enc.encode(["a red circle", CAPTION])
    L = alone.shape[1]
    torch.testing.assert_close(batch[0, :L], alone[0], atol=1e-5, rtol=1e-5)
    assert (batch[0, L:] == 0).all() and not m2[0, L:].any()


def test_save_and_load_roundtrip(tmp_path):
    enc = make().eval()
    enc.save_pretrained(tmp_path / "te")
    back = TinyTextEncoder.from_pretrained(tmp_path / "te")
    assert back.tokenizer.vocab == enc.tokenizer.vocab
    a, _ = enc.encode([CAPTION, ""])
    b, _ = back.encode([CAPTION, ""])
    torch.testing.assert_close(a, b)
    with pytest.raises(FileNotFoundError, match="config.json"):
        TinyTextEncoder.from_pretrained(tmp_path / "missing")


def test_encoder_learns_the_attributes():
    """Trained with a linear probe, the <bos>-pooled embedding must separate all attributes,
    including the colour/background binding that word order carries ("red ... black background")."""
    enc = make(dim=32)
    combos = shapes.all_combinations()
    names = {a: list(v) for a, v in zip(shapes.ATTRIBUTES, (shapes.COLORS, shapes.SHAPES,
                                                             shapes.DIRECTIONS, shapes.BACKGROUNDS))}
    heads = torch.nn.ModuleDict({a: torch.nn.Linear(32, len(names[a])) for a in names})
    labels = {a: torch.tensor([names[a].index(c[a]) for c in combos]) for a in names}
    ids, mask = enc.tokenizer([shapes.caption(**c) for c in combos])
    opt = torch.optim.Adam(list(enc.parameters()) + list(heads.parameters()), lr=3e-3)
    losses = []
    for _ in range(60):
        pooled = enc(ids, mask)[:, 0]                      # (216, D): the <bos> token
        loss = sum(torch.nn.functional.cross_entropy(heads[a](pooled), labels[a]) for a in names)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    with torch.no_grad():
        pooled = enc(ids, mask)[:, 0]
        for a in names:
            acc = (heads[a](pooled).argmax(-1) == labels[a]).float().mean().item()
            assert acc == 1.0, (a, acc)
