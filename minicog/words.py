"""How minicog reads a prompt as words: lower case, punctuation dropped, Korean particles and verb
endings stripped. One copy, used by the Shapes world (its vocabulary and caption parsing), the tiny
text encoder's word tokenizer and FlowDirector's word matching, none of which imports another for it.

    split_words("빨간 원이 왼쪽으로 움직인다")   # ['빨간', '원', '왼쪽', '움직이']
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+|[\uac00-\ud7a3]+")          # Latin letters/digits, or Hangul syllables
# Korean attaches particles and verb endings to the word ("원이" = circle + subject particle).
# `split_words` strips one of these from the end of a Hangul word (longest first, a stem of at least one
# syllable kept), so "빨간 원이 왼쪽으로 움직인다" and "왼쪽으로 움직이는 빨간 원" share the words
# 빨간, 원, 왼쪽, 움직이.
KOREAN_PARTICLES = ("에서", "으로", "에게", "까지", "부터", "이랑", "하고", "로", "이", "가", "을", "를",
                    "은", "는", "와", "과", "의", "에", "도", "랑")
KOREAN_ENDINGS = ("습니다", "는다", "다")  # + ㄴ다 / ㅂ니다 fused into the syllable before
_JONG_N, _JONG_B = 4, 17                                  # final consonants ㄴ and ㅂ in a Hangul syllable


def _drop_final_consonant(syllable: str, jong: int) -> str | None:
    """'인' → '이' when the syllable ends in the final consonant `jong` (Unicode Hangul arithmetic)."""
    code = ord(syllable) - 0xAC00
    return chr(0xAC00 + code - jong) if 0 <= code < 11172 and code % 28 == jong else None


def strip_korean(word: str) -> str:
    """A Hangul word without its particle or verb ending: 원이 → 원, 왼쪽으로 → 왼쪽, 위에서 → 위,
    움직이는 → 움직이, 움직인다 → 움직이, 움직입니다 → 움직이. At most one suffix is removed."""
    if word.endswith("니다") and len(word) >= 4 and (stem := _drop_final_consonant(word[-3], _JONG_B)):
        return word[:-3] + stem                             # 움직입니다 → 움직이
    if word.endswith("다") and len(word) >= 3 and (stem := _drop_final_consonant(word[-2], _JONG_N)):
        return word[:-2] + stem                             # 움직인다 → 움직이
    for suffix in sorted(KOREAN_PARTICLES + KOREAN_ENDINGS, key=len, reverse=True):
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


def split_words(text: str) -> list[str]:
    """Lower-case a prompt and split it into words (punctuation is dropped). Hangul words lose their
    particle or verb ending (`strip_korean`); Latin words are kept as they are."""
    if not isinstance(text, str):
        raise ValueError(f"prompts must be strings, got {type(text).__name__}: {text!r}")
    return [strip_korean(w) if "\uac00" <= w[0] <= "\ud7a3" else w for w in _WORD.findall(text.lower())]
