"""Migrating clkhash version 1 and 2 linkage schemas to version 3, exactly as clkhash does.

Why a module of its own: the migrations are clkhash's ``_convert_v1_to_v2`` and
``_convert_v2_to_v3`` transcribed, kept apart so they can be compared with clkhash's code line
by line. Problems are collected (each naming its feature) rather than raised one at a time.
"""

from __future__ import annotations

from typing import Any


def _migrate_version_1_to_2(document: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """clkhash's ``_convert_v1_to_v2``: the global k times each feature's weight becomes its k."""
    clk_config = document["clkConfig"]
    global_k = clk_config.pop("k")
    clk_hash = clk_config["hash"]

    def convert(feature: dict[str, Any]) -> dict[str, Any]:
        if feature.get("ignored", False):
            return feature
        hashing = feature["hashing"]
        weight = hashing.pop("weight", 1.0)
        if weight == 0:
            return {"identifier": feature["identifier"], "ignored": True}
        hashing["strategy"] = {"k": int(round(weight * global_k))}
        hashing["hash"] = clk_hash
        return feature

    features = [_migrated(convert, feature, index, problems) for index, feature in enumerate(document["features"])]
    return {
        "version": 2,
        "clkConfig": {"l": clk_config["l"], "xor_folds": clk_config.get("xor_folds", 0), "kdf": clk_config["kdf"]},
        "features": features,
    }


def _migrate_version_2_to_3(document: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """clkhash's ``_convert_v2_to_v3``: ``k``/``numBits`` and ``ngram``/``positional`` are renamed."""

    def convert(feature: dict[str, Any]) -> dict[str, Any]:
        if feature.get("ignored", False):
            return feature
        hashing = feature["hashing"]
        strategy = hashing["strategy"]
        if "k" in strategy:
            strategy["bitsPerToken"] = strategy.pop("k")
        elif "numBits" in strategy:
            strategy["bitsPerFeature"] = strategy.pop("numBits")
        hashing["comparison"] = {
            "type": "ngram",
            "n": hashing.pop("ngram"),
            "positional": hashing.pop("positional", False),
        }
        return feature

    document["version"] = 3
    document["features"] = [
        _migrated(convert, feature, index, problems) for index, feature in enumerate(document["features"])
    ]
    return document


def _migrated(convert: Any, feature: Any, index: int, problems: list[str]) -> Any:
    try:
        return convert(feature)
    except (KeyError, TypeError, AttributeError) as error:
        identifier = feature.get("identifier") if isinstance(feature, dict) else None
        problems.append(f"feature '{identifier}' (features[{index}]): missing or malformed {error}")
        return feature
