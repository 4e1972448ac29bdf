"""Turn a normalised identifier into the set of tokens its Bloom filter will hold.

Tokens carry a short type prefix (``g:`` q-gram, ``d:`` day, ``nick:`` canonical name, ...)
so that tokens of different kinds never collide inside one filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dalink.encode.schema import DateTokens, ExactTokens, FieldSpec, PostcodeTokens, QGramTokens


def qgrams(text: str, q: int, *, padded: bool = True, positional: bool = False) -> list[str]:
    """Overlapping q-grams; padding with ``_`` lets the first and last letters count twice."""
    if padded and q > 1:
        text = "_" * (q - 1) + text + "_" * (q - 1)
    grams = [text[index : index + q] for index in range(max(len(text) - q + 1, 1))]
    if positional:
        return [f"g{index}:{gram}" for index, gram in enumerate(grams)]
    return [f"g:{gram}" for gram in grams]


def date_tokens(iso_date: str, spec: DateTokens) -> list[str]:
    """Positional tokens of ``YYYY-MM-DD``; a swapped day and month still share ``dm``."""
    year, month, day = iso_date[0:4], iso_date[5:7], iso_date[8:10]
    tokens = []
    for part in spec.parts:
        if part == "day":
            tokens.append(f"d:{day}")
        elif part == "month":
            tokens.append(f"m:{month}")
        elif part == "year":
            tokens.append(f"y:{year}")
        elif part == "decade":
            tokens.append(f"c:{year[:3]}")
        elif part == "day_month_unordered":
            low, high = sorted((day, month))
            tokens.append(f"dm:{low}|{high}")
        elif part == "year_month":
            tokens.append(f"ym:{year}-{month}")
    return tokens


def postcode_tokens(postcode: str, spec: PostcodeTokens) -> list[str]:
    """Q-grams of the compact postcode plus area/district/sector tokens of the canonical form."""
    compact = postcode.replace(" ", "")
    tokens = qgrams(compact, spec.q, padded=True)
    outward, _, inward = postcode.partition(" ")
    area = "".join(character for character in outward[:2] if character.isalpha())
    for part in spec.parts:
        if part == "area":
            tokens.append(f"pa:{area}")
        elif part == "district":
            tokens.append(f"pd:{outward}")
        elif part == "sector":
            tokens.append(f"ps:{outward} {inward[:1]}")
        elif part == "unit":
            tokens.append(f"pu:{compact}")
    return tokens


def extra_tokens(value: str, spec: FieldSpec) -> list[str]:
    """Whole-value tokens that bridge spelling variants (nicknames, phonetic codes)."""
    if not spec.extra_tokens:
        return []
    from dalink.encode import normalise

    tokens = []
    for kind in spec.extra_tokens:
        if kind == "nickname":
            tokens.append("nick:" + normalise.canonical_given_name(value))
        elif kind == "soundex":
            tokens.append("sx:" + normalise.phonetic_code(value, "soundex"))
        elif kind == "metaphone":
            tokens.append("mp:" + normalise.phonetic_code(value, "metaphone"))
    return tokens


def field_tokens(value: str, spec: FieldSpec) -> list[str]:
    """All tokens of one normalised value, duplicates removed, in first-seen order."""
    tokeniser = spec.tokens
    if isinstance(tokeniser, QGramTokens):
        tokens = qgrams(value, tokeniser.q, padded=tokeniser.padded, positional=tokeniser.positional)
    elif isinstance(tokeniser, DateTokens):
        tokens = date_tokens(value, tokeniser)
    elif isinstance(tokeniser, PostcodeTokens):
        tokens = postcode_tokens(value, tokeniser)
    elif isinstance(tokeniser, ExactTokens):
        tokens = [f"v:{value}"]
    else:  # pragma: no cover - the schema's discriminated union admits nothing else
        raise TypeError(f"unknown tokeniser {tokeniser!r}")
    tokens.extend(extra_tokens(value, spec))
    return list(dict.fromkeys(tokens))


@dataclass(frozen=True)
class TokenGroup:
    """Tokens of many values at once: token ``prefix + distinct[codes[i]]`` belongs to value ``owners[i]``.

    Why: the encoder tokenises every distinct value of a column; building one flat array per
    token kind (and prefixing and hashing only the distinct texts) is several times faster
    than calling :func:`field_tokens` per value. Owners ascend, and every value owns at
    least one token of each kind. The union of a value's tokens over all groups equals the
    set :func:`field_tokens` returns (tested), which is all a Bloom filter depends on.
    """

    owners: np.ndarray
    codes: np.ndarray
    distinct: list[str]
    prefix: str

    @classmethod
    def of(cls, owners: np.ndarray, texts: Sequence[str], prefix: str) -> TokenGroup:
        codes, distinct = pd.factorize(np.asarray(texts, dtype=object))
        return cls(owners, codes, list(distinct), prefix)

    @property
    def texts(self) -> list[str]:
        """Each token's text without the prefix, in order."""
        distinct = self.distinct
        return [distinct[code] for code in self.codes.tolist()]


def _one_per_value(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.int64)


_CODE_POINT_BITS = 21  # every Unicode code point fits, so three fit in an int64
_VECTORISED_MAX_WIDTH = 40  # longer texts (rare) are tokenised in Python rather than padding every row


def _qgram_group_vectorised(texts: Sequence[str], q: int) -> TokenGroup | None:
    """Non-positional q-grams of already-padded ``texts`` with numpy, or None where that does not apply.

    Each text becomes a row of UTF-32 code points; a q-gram is q neighbouring code points
    packed into one integer, so grams are cut and factorised without a Python string per
    gram. Only the distinct grams become text again. Why: postcodes are nearly one per
    person, and cutting their bigrams in Python was the longest job of a large extract.
    """
    if not texts or q > 3:
        return None
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    width = max(int(lengths.max()), q)
    if width > _VECTORISED_MAX_WIDTH or "\x00" in "".join(texts):  # numpy strips trailing NULs
        return None
    points = np.array(texts, dtype=f"<U{width}").view(np.uint32).reshape(len(texts), width).astype(np.int64)
    windows = width - q + 1
    grams = points[:, :windows].copy()
    for offset in range(1, q):
        grams = (grams << _CODE_POINT_BITS) | points[:, offset : offset + windows]
    # a text shorter than q has one gram, itself (its missing code points are zero)
    valid = np.arange(windows)[None, :] < np.maximum(lengths - q + 1, 1)[:, None]
    owners = np.nonzero(valid)[0]
    codes, distinct = pd.factorize(grams[valid])
    mask = (1 << _CODE_POINT_BITS) - 1
    shifts = [_CODE_POINT_BITS * (q - 1 - offset) for offset in range(q)]
    texts_of = ["".join(chr(point) for point in ((gram >> shift) & mask for shift in shifts) if point) for gram in distinct.tolist()]
    return TokenGroup(owners.astype(np.int64), codes, texts_of, "g:")


def _qgram_group(texts: Sequence[str], q: int, *, padded: bool, positional: bool) -> TokenGroup:
    if padded and q > 1:
        padding = "_" * (q - 1)
        texts = [padding + text + padding for text in texts]
    if not positional:
        vectorised = _qgram_group_vectorised(texts, q)
        if vectorised is not None:
            return vectorised
    counts = [max(len(text) - q + 1, 1) for text in texts]
    if positional:
        grams = [f"g{index}:{text[index : index + q]}" for text, count in zip(texts, counts) for index in range(count)]
        prefix = ""
    else:
        grams = [text[index : index + q] for text, count in zip(texts, counts) for index in range(count)]
        prefix = "g:"
    owners = np.repeat(_one_per_value(len(texts)), np.asarray(counts, dtype=np.int64))
    return TokenGroup.of(owners, grams, prefix)


def _date_groups(values: Sequence[str], spec: DateTokens) -> list[TokenGroup]:
    owners = _one_per_value(len(values))
    groups = []
    for part in spec.parts:
        if part == "day":
            groups.append(TokenGroup.of(owners, [value[8:10] for value in values], "d:"))
        elif part == "month":
            groups.append(TokenGroup.of(owners, [value[5:7] for value in values], "m:"))
        elif part == "year":
            groups.append(TokenGroup.of(owners, [value[0:4] for value in values], "y:"))
        elif part == "decade":
            groups.append(TokenGroup.of(owners, [value[0:4][:3] for value in values], "c:"))
        elif part == "day_month_unordered":
            pairs = ((value[8:10], value[5:7]) for value in values)
            texts = [f"{day}|{month}" if day <= month else f"{month}|{day}" for day, month in pairs]
            groups.append(TokenGroup.of(owners, texts, "dm:"))
        elif part == "year_month":
            groups.append(TokenGroup.of(owners, [f"{value[0:4]}-{value[5:7]}" for value in values], "ym:"))
    return groups


def _area(outward: str) -> str:
    """The letters among the first two characters of an outward code (as :func:`postcode_tokens`)."""
    head = outward[:2]
    return head if head.isalpha() else "".join(character for character in head if character.isalpha())


def _postcode_groups(values: Sequence[str], spec: PostcodeTokens) -> list[TokenGroup]:
    compacts = [value.replace(" ", "") for value in values]
    groups = [_qgram_group(compacts, spec.q, padded=True, positional=False)]
    owners = _one_per_value(len(values))
    splits = [value.partition(" ") for value in values]
    for part in spec.parts:
        if part == "area":
            texts = [_area(outward) for outward, _, _ in splits]
            groups.append(TokenGroup.of(owners, texts, "pa:"))
        elif part == "district":
            groups.append(TokenGroup.of(owners, [outward for outward, _, _ in splits], "pd:"))
        elif part == "sector":
            groups.append(TokenGroup.of(owners, [f"{outward} {inward[:1]}" for outward, _, inward in splits], "ps:"))
        elif part == "unit":
            groups.append(TokenGroup.of(owners, compacts, "pu:"))
    return groups


def _extra_groups(values: Sequence[str], spec: FieldSpec) -> list[TokenGroup]:
    if not spec.extra_tokens:
        return []
    from dalink.encode import normalise

    owners = _one_per_value(len(values))
    groups = []
    for kind in spec.extra_tokens:
        if kind == "nickname":
            groups.append(TokenGroup.of(owners, [normalise.canonical_given_name(value) for value in values], "nick:"))
        elif kind == "soundex":
            groups.append(TokenGroup.of(owners, [normalise.phonetic_code(value, "soundex") for value in values], "sx:"))
        elif kind == "metaphone":
            groups.append(TokenGroup.of(owners, [normalise.phonetic_code(value, "metaphone") for value in values], "mp:"))
    return groups


def token_groups(values: Sequence[str], spec: FieldSpec) -> list[TokenGroup]:
    """The tokens of many normalised values, grouped by kind (see :class:`TokenGroup`)."""
    values = list(values)
    tokeniser = spec.tokens
    if isinstance(tokeniser, QGramTokens):
        groups = [_qgram_group(values, tokeniser.q, padded=tokeniser.padded, positional=tokeniser.positional)]
    elif isinstance(tokeniser, DateTokens):
        groups = _date_groups(values, tokeniser)
    elif isinstance(tokeniser, PostcodeTokens):
        groups = _postcode_groups(values, tokeniser)
    elif isinstance(tokeniser, ExactTokens):
        groups = [TokenGroup.of(_one_per_value(len(values)), values, "v:")]
    else:  # pragma: no cover - the schema's discriminated union admits nothing else
        raise TypeError(f"unknown tokeniser {tokeniser!r}")
    return groups + _extra_groups(values, spec)
