"""Linker-side commands: link, report, chronology and audit.

The trusted linker runs these on the agencies' encoded packages and on what it builds from
them; none takes the partnership key. Chronology is the one that returns record-level results,
so it is restricted to death reviews and logs every request; audit measures how far the
packages the linker holds could be re-identified by someone without the key.
"""

from __future__ import annotations

from typing import Any

import click

from dalink.cli import TqdmProgress, handle_errors, main, quiet_option, read_json_object
from dalink.errors import DalinkError


@main.command("chronology")
@click.argument("linkage", type=click.Path(file_okay=False))
@click.option("--subject", "subject_package", required=True, type=click.Path(), help="The subjects' package, encoded with the partnership key.")
@click.option("--requested-by", default=None, help="Who asked for the chronology (the review chair or their office). Required.")
@click.option("--reason", default=None, help="Why: the review it is for, e.g. 'DARDR 2024/03'. Required.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="CSV file to write (mode 0600).")
@click.option("--subject-id", "subject_ids", multiple=True, help="Only this subject record id (repeat for more) [default: every subject].")
@click.option("--packages", "--package", "packages", multiple=True, type=click.Path(),
              help="A package the linkage was made from (repeat for each) [default: from LINKAGE/inputs.json].")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Match probability for a subject match [default: the linkage's].")
@click.option("--widen-to-entities/--direct-only", "widen", default=False, show_default=True,
              help="Also return records the linkage ties to a subject's matches (more recall, less precision).")
@click.option("--reference-date", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date under review for the panel summary [default: each subject's event date].")
@click.option("--window-days", type=click.IntRange(min=0), default=365, show_default=True, help="Panel summary: agencies in contact this many days before the reference date.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@quiet_option
@handle_errors
def chronology_command(
    linkage: str,
    subject_package: str,
    requested_by: str | None,
    reason: str | None,
    output: str,
    subject_ids: tuple[str, ...],
    packages: tuple[str, ...],
    threshold: float | None,
    widen: bool,
    reference_date: Any,
    window_days: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Combined chronology of a review's subjects across the linkage (restricted use).

    For Domestic Abuse Related Death Reviews only: every request names who asked
    (--requested-by) and why (--reason) and is appended to LINKAGE/chronology_audit.jsonl
    before anything is written. Writes the linked agency contacts, by date, to OUTPUT and
    prints a panel summary (agencies in contact, repeat episodes, moves, duplicate referrals).
    """
    from pathlib import Path

    from dalink.chronology import combined_chronology, panel_summary
    from dalink.chronology.request import ChronologyRequest
    from dalink.errors import OutputExistsError

    ChronologyRequest(requested_by=requested_by, reason=reason, subjects=subject_ids)  # refuse before reading
    if Path(output).exists() and not overwrite:
        raise OutputExistsError(f"{output}: the output exists; choose another path or remove it first")
    with TqdmProgress("matching subjects", enabled=not quiet, unit="step") as progress:
        result = combined_chronology(
            linkage,
            subject_package,
            requested_by=requested_by or "",
            reason=reason or "",
            subjects=subject_ids,
            packages=list(packages) or None,
            match_threshold=threshold,
            expand_entities=widen,
            progress=progress,
        )
    result.to_csv(output, overwrite=overwrite)
    click.echo(
        f"{output}: {len(result.events)} event(s) for {len(result.subjects)} subject(s) "
        f"(match probability ≥ {result.match_threshold:.3f}); request {result.request_id} logged in "
        f"{Path(linkage) / 'chronology_audit.jsonl'}"
    )
    summary = panel_summary(
        result, reference_date=reference_date.date() if reference_date else None, window_days=window_days
    )
    click.echo(summary.render_text(), nl=False)


@main.command("audit")
@click.argument("packages", nargs=-1, required=True, type=click.Path())
@click.option(
    "--reference-frequencies",
    type=click.Path(file_okay=False),
    help="Directory of the attacker's public tables (given_names.csv, surnames.csv, birth_years.csv) [default: shipped].",
)
@click.option(
    "--truth",
    "truth_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Evaluation only (synthetic data): the extract behind each package, in package order, to score the claims.",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the report as JSON here.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="Confidence at which a guess counts as a claim.")
@click.option("--target", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Re-identification share the encodings should stay at or below.")
@quiet_option
@handle_errors
def audit_command(
    packages: tuple[str, ...],
    reference_frequencies: str | None,
    truth_paths: tuple[str, ...],
    json_path: str | None,
    confidence: float,
    target: float,
    quiet: bool,
) -> None:
    """Attack encoded packages as a key-less attacker would; report the re-identification risk.

    Several packages encoded under one key are pooled, as the linker holds them. Without
    --truth the report says what the attacker would claim and how confident it is; with
    --truth (synthetic extracts only, never real data) it says how many claims are right.
    The report holds counts only, never a name.
    """
    from pathlib import Path

    import pandas as pd

    from dalink.audit import audit_package
    from dalink.encode.extract import read_extract
    from dalink.encode.package import read_manifest
    from dalink.errors import InputFileError

    truth = None
    if truth_paths:
        if len(truth_paths) != len(packages):
            raise InputFileError(f"--truth was given {len(truth_paths)} time(s) for {len(packages)} package(s); give one per package")
        parts = []
        for package, truth_path in zip(packages, truth_paths):
            frame = read_extract(truth_path).rows.drop(columns=["row_number"])
            frame.insert(0, "agency", read_manifest(package).agency)
            parts.append(frame)
        truth = pd.concat(parts, ignore_index=True)
    with TqdmProgress("auditing", enabled=not quiet, unit="step") as progress:
        report = audit_package(
            list(packages), reference_frequencies, truth, confidence_threshold=confidence, target_share=target,
            progress=progress,
        )
    click.echo(report.render_text(), nl=False)
    if json_path:
        Path(json_path).write_text(report.to_json(), encoding="utf-8")
        click.echo(f"wrote {json_path}")


@main.command("report")
@click.argument("linkage", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(), help="Report directory to write.")
@click.option("--episode-days", type=click.IntRange(min=0), default=28, show_default=True, help="Events within this many days of an episode's start belong to it.")
@click.option("--repeat-days", type=click.IntRange(min=0), default=365, show_default=True, help="A new episode within this many days of the previous one makes a repeat victim.")
@click.option("--duplicate-days", type=click.IntRange(min=0), default=28, show_default=True, help="A referral within this many days of the previous one is a duplicate.")
@click.option("--referral-type", default="marac_referral", show_default=True, help="Event type checked for duplicate referrals; 'any' checks every *_referral type.")
@click.option("--period-start", type=click.DateTime(formats=["%Y-%m-%d"]), help="Count events on or after this date (YYYY-MM-DD).")
@click.option("--period-end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Count events on or before this date (YYYY-MM-DD).")
@click.option("--min-count", type=click.IntRange(min=1), default=10, show_default=True, help="Disclosure control: counts below this are withheld.")
@click.option("--round-to", type=click.IntRange(min=1), default=5, show_default=True, help="Disclosure control: published counts are rounded to a multiple of this.")
@click.option("--replicates", type=click.IntRange(min=10), default=200, show_default=True, help="Resampled linkages behind the 95% intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random state for the intervals.")
@click.option("--overwrite", is_flag=True, help="Replace an existing report directory.")
@quiet_option
@handle_errors
def report_command(
    linkage: str,
    output: str,
    episode_days: int,
    repeat_days: int,
    duplicate_days: int,
    referral_type: str,
    period_start: Any,
    period_end: Any,
    min_count: int,
    round_to: int,
    replicates: int,
    seed: int,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Partnership report from a linkage directory: report.html, measures.json, tables/*.csv.

    Every published count passes disclosure control; each headline count has a 95% interval
    for linkage error.
    """
    from pydantic import ValidationError

    from dalink.errors import ReportError
    from dalink.report.disclosure import DisclosureRules
    from dalink.report.measures import MeasureParameters
    from dalink.report.report import build_report
    from dalink.report.uncertainty import UncertaintyConfig

    try:
        parameters = MeasureParameters(
            episode_days=episode_days,
            repeat_days=repeat_days,
            duplicate_days=duplicate_days,
            duplicate_event_type=None if referral_type.strip().lower() == "any" else referral_type,
            period_start=period_start.date() if period_start else None,
            period_end=period_end.date() if period_end else None,
        )
    except ValidationError as error:
        raise ReportError(f"invalid report parameters: {error.errors()[0]['msg']}") from None
    rules = DisclosureRules(threshold=min_count, rounding_base=round_to)
    with TqdmProgress("resampling linkage", enabled=not quiet, unit="resample") as progress:
        result = build_report(
            linkage,
            output,
            parameters,
            rules,
            progress,
            uncertainty=UncertaintyConfig(replicates=replicates, random_state=seed),
            overwrite=overwrite,
        )
    click.echo(f"{output}: report.html, measures.json, {len(result.tables)} tables (counts rounded to {round_to}, below {min_count} withheld)")
    for headline in result.headlines.values():
        if headline.estimate is None:
            click.echo(f"  {headline.title:45s} [c]")
        else:
            click.echo(f"  {headline.title:45s} {headline.estimate:>8,}  (95% interval {headline.lower:,} to {headline.upper:,})")


@main.command("link")
@click.argument("packages", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="Linkage directory to write.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Linker settings as JSON (schemas/link-config.schema.json); the options below override it.")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Match probability for a link [default: from the model].")
@click.option("--no-lsh", is_flag=True, default=None, help="Keyed blocking keys only (no LSH passes on the filters).")
@click.option("--seed", type=int, default=None, help="Random state for sampling [default: 0].")
@click.option("--role-constraints/--no-role-constraints", default=None,
              help="Never put the victim and perpetrator rows of one agency's event into one entity [default: on].")
@click.option(
    "--deduplicated",
    "deduplicated",
    multiple=True,
    metavar="AGENCY",
    help="This agency's records are distinct people (no duplicates): never link two of them, and link "
    "each entity to at most one of them (one-to-one). Repeat for more agencies.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing linkage directory.")
@quiet_option
@handle_errors
def link_command(
    packages: tuple[str, ...],
    output: str,
    config_file: str | None,
    threshold: float | None,
    no_lsh: bool | None,
    seed: int | None,
    role_constraints: bool | None,
    deduplicated: tuple[str, ...],
    overwrite: bool,
    quiet: bool,
) -> None:
    """Link and de-duplicate encoded packages (one per agency) into entities.

    Writes entities.parquet, pairs.parquet, model.json and summary.json to OUTPUT.
    A single package is de-duplicated.

    Use --deduplicated AGENCY only for an extract known to hold each person once (a
    register, a file the agency de-duplicated): dalink then links one-to-one into it,
    which finds links with weaker evidence without adding false ones. Most agency
    extracts (police incidents, referrals) do hold people more than once.
    """
    from pydantic import ValidationError

    from dalink.match.linker import LinkConfig, link

    settings = read_json_object(config_file, "settings") if config_file else {}
    overrides = {
        "match_threshold": threshold,
        "lsh": False if no_lsh else None,
        "random_state": seed,
        "deduplicated_agencies": tuple(deduplicated) or None,
        "event_role_constraints": role_constraints,
    }
    settings.update({name: value for name, value in overrides.items() if value is not None})
    try:
        config = LinkConfig.model_validate(settings)
    except ValidationError as error:
        where = f"{config_file}: " if config_file else ""
        problems = "; ".join(".".join(map(str, item["loc"])) + ": " + item["msg"] for item in error.errors())
        raise DalinkError(f"{where}invalid linker settings ({problems})") from None
    with TqdmProgress("linking", enabled=not quiet, unit="step") as progress:
        result = link(list(packages), output, config=config, overwrite=overwrite, progress=progress)
    summary = result.summary
    quality = summary["estimated_quality"]
    click.echo(
        f"{output}: {summary['records']} records → {summary['entities']} entities "
        f"({summary['pairs_compared']} pairs compared, {summary['links']} links at probability ≥ "
        f"{summary['match_threshold']:.3f})"
    )
    if quality["precision"] is not None and quality["recall"] is not None:
        click.echo(f"  estimated precision {quality['precision']:.3f}, recall {quality['recall']:.3f} (from the model)")
