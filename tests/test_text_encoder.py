"""Tiny text encoder: tokenizer (unknown words, null prompt, truncation), masking, save/load, and
that it can learn the Shapes attributes."""
import warnings

import pytest
import torch

from minicog import shapes
from minicog.shapes import vocabulary as shapes_vocabulary
from minicog.text_encoder import TextEncoderConfig, TinyTextEncoder, WordTokenizer
from minicog.words import split_words

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


def test_english_words_split_as_they_always_have():
    """Text without Hangul splits exactly as the ASCII-only rule did (captions, punctuation, accents)."""
    import re
    old = lambda t: re.findall(r"[a-z0-9]+", t.lower())                  # noqa: E731
    texts = ["A RED circle, moving left!", "  ", "3d-objects_are fine: 42", "café naïve Ünïcode", "日本語 text"]
    texts += [shapes.caption(**c, template=t) for c in shapes.all_combinations()[::11] for t in shapes.PARAPHRASES]
    texts += ["a red circle moving left and a blue square moving up on a black background"]
    for t in texts:
        assert split_words(t) == old(t), t


def test_korean_words_lose_their_particles_and_endings():
    assert split_words("빨간 원이 왼쪽으로 움직인다") == ["빨간", "원", "왼쪽", "움직이"]
    phrase = shapes.caption("red", "circle", "left", "black", language="ko")   # 검정 배경 위에서 왼쪽으로 움직이는 빨간 원
    assert {"빨간", "원", "왼쪽", "움직이"} <= set(split_words(phrase))
    assert split_words("정사각형과 삼각형을, 원은 배경에서 위쪽으로!") == ["정사각형", "삼각형", "원", "배경", "위쪽"]
    assert split_words("움직입니다 움직이다 움직이는") == ["움직이"] * 3
    assert split_words("이 가") == ["이", "가"]                          # a particle alone is kept
    assert split_words("Red 원이") == ["red", "원"]
    tok = WordTokenizer(shapes_vocabulary())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                    # every word known
        ids, _ = tok(["빨간 원이 왼쪽으로 움직인다", "흰색 배경 위에서 보라 삼각형이 아래쪽으로 움직인다"])
    assert tok.decode(ids[0]) == "빨간 원 왼쪽 움직이"


def test_check_known_refuses_a_prompt_with_no_known_word():
    """A prompt of unknown (or only glue) words would give an unconditional video: refused, with the
    vocabulary in the message; prompts with one known word pass."""
    tok = WordTokenizer(shapes_vocabulary())
    glue = shapes.glue_words()
    tok.check_known([CAPTION, "빨간 원이 왼쪽으로 움직인다", "red"], ignore=glue)   # no error
    for bad in ("a pink blob", "", "a moving background", "ein roter Kreis"):
        with pytest.raises(ValueError, match=r"knows no word of the prompt.*unconditional.*circle.*red") as e:
            tok.check_known(["a red circle", bad], ignore=glue, hint="Pass unconditional=True for one.")
        assert "빨간" in str(e.value) and str(e.value).endswith("Pass unconditional=True for one.")
        assert "glue words a, and" in str(e.value)
    assert tok.known_words("a pink circle", ignore=glue) == ["circle"]
    english_only = WordTokenizer(["a", "red", "circle"])                 # e.g. the shipped encoder's vocab
    with pytest.raises(ValueError, match="'빨간 원이 왼쪽으로 움직인다'.*knows 3 words: a, red, circle"):
        english_only.check_known("빨간 원이 왼쪽으로 움직인다")
