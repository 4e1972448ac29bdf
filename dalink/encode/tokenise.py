"""Turn a normalised identifier into the set of tokens its Bloom filter will hold.

Tokens carry a short type prefix (``g:`` q-gram, ``d:`` day, ``nick:`` canonical name, ...)
so that tokens of different kinds never collide inside one filter.
"""

from __future__ import annotations

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
