"""Names: the canonical form of a given, middle or family name, and its phonetic code.

Why: Bloom-filter encodings compare q-grams, so "O'Brien", "OBRIEN" and "o brien" must become
one string before hashing; phonetic codes of the same names feed the blocking keys. Reasons
never quote the value. The rules are listed in ``docs/normalisation.md``.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from typing import Callable, Literal

import jellyfish

from dalink.encode.missing_values import _is_bool, _is_missing
from dalink.errors import InvalidValue

PhoneticMethod = Literal["soundex", "metaphone", "nysiis", "double_metaphone_like"]

MAXIMUM_NAME_LENGTH = 100

# Reasons (never containing the value).
NAME_TOO_LONG = f"name is longer than {MAXIMUM_NAME_LENGTH} characters"
NAME_HAS_DIGITS = "name contains digits"
NAME_NOT_TEXT = "name is not text"


# --- names -------------------------------------------------------------------------------------

# Letters that Unicode decomposition leaves alone but English-speaking data entry drops.
_TRANSLITERATIONS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "ŧ": "t",
        "ƒ": "f",
        "ĸ": "k",
    }
)
# Apostrophes are removed so that "O'Brien" and "OBrien" agree; every other mark becomes a space.
_APOSTROPHES = "'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07"
_DELETE_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)
_ASCII_NAME_TABLE = str.maketrans(
    {
        **{chr(code): " " for code in range(128) if not chr(code).isalnum()},
        **{apostrophe: None for apostrophe in _APOSTROPHES if ord(apostrophe) < 128},
    }
)
_ASCII_DIGIT = re.compile(r"[0-9]")
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "revd", "sir", "lady", "dame"}
    | {"jr", "jnr", "sr", "snr", "ii", "iii"}
)
_NAME_PLACEHOLDERS = frozenset(
    {
        "unknown", "not known", "n k", "nk", "n a", "na", "none", "null", "xxx", "refused",
        "not given", "not stated", "not recorded", "unk", "withheld", "anonymous", "unborn", "baby",
    }
)


def _clean_name_characters(text: str) -> str:
    """Lower-case letters and spaces only; raises if the name holds digits."""
    if text.isascii():
        if _ASCII_DIGIT.search(text):
            raise InvalidValue(NAME_HAS_DIGITS)
        return text.lower().translate(_ASCII_NAME_TABLE)
    text = text.translate(_DELETE_APOSTROPHES)
    # Decompose, fold case, decompose again (folding can yield composed letters), then drop
    # the combining marks: "É" -> "e" + acute -> "e".
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = "".join(character for character in text if not unicodedata.category(character).startswith("M"))
    text = text.translate(_TRANSLITERATIONS).translate(_DELETE_APOSTROPHES).lower()
    cleaned = []
    for character in text:
        if character.isalpha():
            cleaned.append(character)
        elif character.isdigit():
            raise InvalidValue(NAME_HAS_DIGITS)
        else:
            cleaned.append(" ")
    return "".join(cleaned)


def normalise_name(value: object) -> str | None:
    """Canonical form of a given, middle or family name: lower-case letters and single spaces.

    Accents are stripped (é→e, ł→l, ø→o, ß→ss), apostrophes removed ("o'brien"→"obrien"),
    hyphens and other punctuation become spaces ("smith-jones"→"smith jones"), titles and
    suffixes (mr, mrs, dr, jr, iii, ...) are dropped as whole words. Blank or placeholder
    names ("N/K", "unknown") are missing. Raises :class:`InvalidValue` for names with digits
    or longer than 100 characters after cleaning, which are data-entry errors.
    """
    if not isinstance(value, str):
        if _is_missing(value):
            return None
        if isinstance(value, numbers.Real) and not _is_bool(value) and math.isfinite(value):
            raise InvalidValue(NAME_HAS_DIGITS)
        raise InvalidValue(NAME_NOT_TEXT)
    words = _clean_name_characters(value).split()
    if " ".join(words) in _NAME_PLACEHOLDERS:
        return None
    name = " ".join(word for word in words if word not in _TITLES)
    if not name or name in _NAME_PLACEHOLDERS:
        return None
    if len(name) > MAXIMUM_NAME_LENGTH:
        raise InvalidValue(NAME_TOO_LONG)
    return name


# --- a whole name in one field -----------------------------------------------------------------

# Words that belong to the family name that follows them ("Maria de Souza", "Ludwig van der Berg").
_SURNAME_PARTICLES = frozenset(
    {"de", "da", "das", "do", "dos", "di", "du", "del", "della", "la", "le", "van", "von", "der", "den", "ter", "ten"}
    | {"bin", "binti", "bint", "al", "el", "ap", "st"}
)


def _is_title(word: str) -> bool:
    return word.lower().strip(".") in _TITLES


def split_full_name(value: object) -> tuple[object, object, object]:
    """(given, middle, family) of a name held in one field, each still to be normalised.

    Why: some agencies (a MARAC spreadsheet's "Victim name", say) keep the whole name in one
    column. "Smith, Jane Mary" (family name first, then a comma) and "Jane Mary Smith" are
    both read; titles and suffixes are dropped, a one-word name is taken as the given name
    (as the family name after a title: "Mrs Jones"), and particles before the last word
    ("de", "van der", "al") stay with the family name.
    A value that is not text is passed on as the given name, so that normalising it
    rejects the row with the usual reason.
    """
    if not isinstance(value, str):
        return value, None, None
    family: str | None = None
    text = value
    if "," in value:
        family_text, _, text = value.partition(",")
        family = " ".join(word for word in family_text.split() if not _is_title(word)) or None
    all_words = text.split()
    words = [word for word in all_words if not _is_title(word)]
    if family is None and len(words) == 1 and len(all_words) > 1:  # "Mrs Jones": a title goes with a family name
        return None, None, words[0]
    if family is None and len(words) > 1:
        start = len(words) - 1
        while start > 1 and words[start - 1].lower() in _SURNAME_PARTICLES:
            start -= 1
        family, words = " ".join(words[start:]), words[:start]
    given = words[0] if words else None
    middle = " ".join(words[1:]) or None
    return given, middle, family


# --- phonetic codes ----------------------------------------------------------------------------

# Spellings that Double Metaphone reads alike and plain Metaphone does not.
_DOUBLE_METAPHONE_SPELLINGS = (("tsch", "ch"), ("sch", "sh"), ("cz", "ch"), ("sz", "s"), ("mac", "mc"))
# Double Metaphone's alternate codes let "th" meet "t" and "sh"/"x" meet "s".
_DOUBLE_METAPHONE_FOLDS = str.maketrans({"0": "T", "X": "S"})
_DOUBLE_METAPHONE_LENGTH = 4


def _double_metaphone_like(word: str) -> str:
    for spelling, replacement in _DOUBLE_METAPHONE_SPELLINGS:
        word = word.replace(spelling, replacement)
    code = jellyfish.metaphone(word).translate(_DOUBLE_METAPHONE_FOLDS)
    deduplicated = "".join(letter for position, letter in enumerate(code) if position == 0 or code[position - 1] != letter)
    return deduplicated[:_DOUBLE_METAPHONE_LENGTH]


_PHONETIC_METHODS: dict[str, Callable[[str], str]] = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
    "double_metaphone_like": _double_metaphone_like,
}
_NON_LETTERS = re.compile(r"[^a-z]+")


def phonetic_code(name: str, method: PhoneticMethod = "soundex") -> str:
    """Phonetic code of the first word of a normalised name, for blocking keys.

    Only the first word is coded: a double-barrelled surname recorded as one barrel still
    shares its first word more often than not, and a code of the whole name would change
    with every added middle name. Letters outside a-z are dropped (the phonetic algorithms
    are defined for English spelling); a name with no such letters codes as "".

    ``double_metaphone_like`` is not Double Metaphone: it is Metaphone after a few of
    Double Metaphone's spelling rules (sch→sh, cz→ch, sz→s, mac→mc) with "th" folded into
    "t" and "sh" into "s" as its alternate codes allow, repeated letters collapsed and the
    code cut to four characters.
    """
    encoder = _PHONETIC_METHODS.get(method)
    if encoder is None:
        raise ValueError(f"unknown phonetic method {method!r}; choose one of {sorted(_PHONETIC_METHODS)}")
    words = name.split()
    word = _NON_LETTERS.sub("", words[0].lower()) if words else ""
    return encoder(word) if word else ""
