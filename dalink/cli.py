"""The ``dalink`` command line: a thin layer over the library functions.

Secrets are read from a key file or an environment variable, never from an argument.
Every failure exits non-zero with a one-line message; identifiers are never printed.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dalink._version import __version__
from dalink.demo import DEFAULT_PEOPLE
from dalink.errors import DalinkError

F = TypeVar("F", bound=Callable[..., Any])
CHECK_ROWS_SHOWN = 20  # rejected rows listed by `dalink encode --check`
REJECTED_SHARE_WARNING = 0.05  # above this share of rejected rows, `dalink encode` warns


def handle_errors(command: F) -> F:
    """Turn a :class:`DalinkError` into a one-line message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DalinkError as error:
            raise click.ClickException(str(error)) from None

    return wrapper  # type: ignore[return-value]


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


class TqdmProgress:
    """A progress callback ``progress(done, total)`` drawn as a tqdm bar on stderr.

    Drawn only when stderr is a terminal: an agency's ETL job that logs stderr to a file
    would otherwise collect hundreds of carriage-return redraws. ``unit`` names what is
    counted (records, stages, resamples).
    """

    def __init__(self, description: str, *, enabled: bool = True, unit: str = "rec") -> None:
        self.description = description
        self.enabled = enabled and _stderr_is_terminal()
        self.unit = unit
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.description, unit=self.unit, file=sys.stderr, leave=False)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dalink")
@click.option("-v", "--verbose", count=True, help="Log stages and timings (-vv for debug).")
def main(verbose: int) -> None:
    """dalink: privacy-preserving record linkage for domestic-abuse partnerships.

    Agencies encode their identifiers locally with the partnership key (keygen, encode);
    a trusted linker links the encoded packages (link) and publishes disclosure-controlled
    counts (report).
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _parse_mapping(column_map: str | None, mappings: tuple[str, ...]) -> dict[str, str]:
    """Column mapping from a JSON file ``{"given_name": "Forename", ...}`` and ``--map std=theirs`` options."""
    from dalink.errors import InputFileError

    mapping: dict[str, str] = {}
    if column_map:
        loaded = _read_json_object(column_map, "column mapping", InputFileError)
        if not all(isinstance(v, str) for v in loaded.values()):
            raise InputFileError(f"{column_map}: a column mapping is a JSON object of standard name to column name")
        mapping.update(loaded)
    for item in mappings:
        standard, separator, theirs = item.partition("=")
        if not separator or not standard.strip() or not theirs.strip():
            raise InputFileError(f"--map {item!r}: expected STANDARD=THEIRS, e.g. given_name=Forename")
        mapping[standard.strip()] = theirs.strip()
    return mapping


@main.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Key file to create.")
@handle_errors
def keygen(output: str) -> None:
    """Create a new 256-bit partnership key (file mode 0600; never overwrites).

    Share it with the agencies only, by a secure channel; the linker must never hold it.
    """
    from dalink.keys import generate_key_file

    key = generate_key_file(output)
    click.echo(f"wrote {output} (fingerprint {key.fingerprint}); keep it secret, never give it to the linker")


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=False, dir_okay=False))
@click.option("--agency", help="Agency name, e.g. police (letters, digits, - and _).  [required unless --check]")
@click.option(
    "--key-file",
    envvar="DALINK_KEY_FILE",
    type=click.Path(dir_okay=False),
    help="Partnership key file (or $DALINK_KEY_FILE, or the key in hex in $DALINK_KEY).",
)
@click.option("-o", "--output", type=click.Path(), help="Package directory to write [default: AGENCY.dalink].")
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False), help="Linkage schema JSON [default: built in].")
@click.option("--column-map", type=click.Path(dir_okay=False), help="JSON file mapping standard names to your columns.")
@click.option("--map", "mappings", multiple=True, metavar="STANDARD=THEIRS", help="Map one column, e.g. given_name=Forename.")
@click.option("--sheet", metavar="NAME", help="Sheet of an Excel workbook to read [default: the first].")
@click.option(
    "--header-row",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Line of a CSV file, or row of a sheet, that holds the header (rows above it, a title say, are skipped).",
)
@click.option(
    "--safe-accommodation",
    is_flag=True,
    help="This agency provides refuge or other safe accommodation: never encode a postcode (its records' "
    "addresses are its own locations), whatever the event type.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing package.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: one per core, up to 4; 1 for small extracts]. Output is identical for any number.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Only read and validate the extract: print what would be encoded and rejected (row numbers "
    "and reasons, never values). Needs no key and writes nothing.",
)
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
@handle_errors
def encode(
    input_path: str,
    agency: str | None,
    key_file: str | None,
    output: str | None,
    schema_path: str | None,
    column_map: str | None,
    mappings: tuple[str, ...],
    sheet: str | None,
    header_row: int,
    safe_accommodation: bool,
    overwrite: bool,
    workers: int | None,
    check: bool,
    quiet: bool,
) -> None:
    """Encode an agency extract (CSV, Parquet or Excel) into a package for the linker."""
    from dalink.encode.encoder import encode_file
    from dalink.encode.validate import check_file
    from dalink.encode.schema import default_schema, load_schema
    from dalink.keys import load_key

    # how the extract is read and validated, the same for --check and for encoding
    reading = {
        "schema": load_schema(schema_path) if schema_path else default_schema(),
        "column_mapping": _parse_mapping(column_map, mappings),
        "sheet": sheet,
        "header_row": header_row,
        "safe_accommodation": safe_accommodation,
        "workers": workers,
    }
    if check:
        result = check_file(input_path, **reading)
        counts = result.counts
        click.echo(f"{input_path}: would encode {counts.encoded:,} of {counts.rows_in:,} rows, reject {counts.rejected:,}")
        read_from = (
            standard if theirs == standard else f"{standard} <- {theirs}" for standard, theirs in result.columns_read.items()
        )
        click.echo(f"  columns read: {', '.join(read_from)}")
        _echo_rejected(counts.rejected_by_reason)
        shown = result.rejects.head(CHECK_ROWS_SHOWN)
        for row_number, column, reason in zip(shown["row_number"], shown["column"], shown["reason"]):
            click.echo(f"  row {row_number}: {column + ': ' if column else ''}{reason}")
        if counts.rejected > len(shown):
            click.echo(f"  ... and {counts.rejected - len(shown)} more rejected rows")
        return
    if not agency:
        raise click.UsageError("Missing option '--agency' (needed unless --check).")
    key = load_key(key_file)
    target = output or f"{agency}.dalink"
    started = time.perf_counter()
    with TqdmProgress(f"encoding {agency}", enabled=not quiet) as progress:
        manifest = encode_file(input_path, target, agency=agency, key=key, overwrite=overwrite, progress=progress, **reading)
    counts = manifest.counts
    click.echo(
        f"{target}: encoded {counts.encoded:,} of {counts.rows_in:,} rows, rejected {counts.rejected:,} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    _echo_rejected(counts.rejected_by_reason)
    if counts.rejected:
        click.echo(f"  row numbers and reasons: {target}/rejects.csv")
    if counts.rejected > REJECTED_SHARE_WARNING * counts.rows_in:
        click.echo(
            f"warning: {counts.rejected / counts.rows_in:.0%} of the rows were rejected; check the extract and the "
            "column mapping before sending the package",
            err=True,
        )


def _echo_rejected(by_reason: dict[str, int]) -> None:
    for reason, count in sorted(by_reason.items(), key=lambda item: -item[1]):
        click.echo(f"  rejected {count:>7}  {reason}")


@main.command()
@click.argument("package", type=click.Path())
@click.option("--verify/--no-verify", default=True, help="Verify checksums too.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
@handle_errors
def inspect(package: str, verify: bool, as_json: bool) -> None:
    """What a package holds: agency, key fingerprint, schema, counts, files (never an identifier).

    With --json, the whole manifest as JSON (the schema included).
    """
    from dalink.encode.package import read_manifest, read_package

    manifest = read_package(package).manifest if verify else read_manifest(package)
    if as_json:
        click.echo(manifest.to_json(), nl=False)
        return
    schema, counts = manifest.schema_, manifest.counts
    click.echo(f"{package}: {manifest.format} v{manifest.format_version}, written by dalink {manifest.dalink_version}")
    click.echo(f"  agency           {manifest.agency} (from {manifest.source_name})")
    click.echo(f"  key fingerprint  {manifest.key_fingerprint}  (every package of a linkage must share it)")
    click.echo(f"  schema           {schema.name} v{schema.version}, hash {manifest.schema_hash[:16]}")
    click.echo(f"  rows             {counts.rows_in} read, {counts.encoded} encoded, {counts.rejected} rejected")
    _echo_rejected(counts.rejected_by_reason)
    for spec in schema.fields:
        steps = ", ".join(step.kind for step in spec.hardening) or "no hardening"
        click.echo(f"  field            {spec.name}: {spec.encoded_bits}-bit Bloom filter ({steps})")
    click.echo(f"  blocking keys    {', '.join(block.name for block in schema.blocking_keys)}")
    files = ", ".join(f"{name} ({entry.bytes:,} bytes)" for name, entry in sorted(manifest.files.items()))
    click.echo(f"  files            {files}; checksums {'verified' if verify else 'not verified (--verify)'}")


@main.command()
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Directory to create.")
@click.option("--people", default=DEFAULT_PEOPLE, show_default=True, type=click.IntRange(100, 2_000_000),
              help="Synthetic people (each appears in about two agency records).")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the synthetic partnership.")
@click.option("--quiet", is_flag=True, help="No progress bars (drawn only when stderr is a terminal).")
@handle_errors
def demo(output: str, people: int, seed: int, quiet: bool) -> None:
    """Run the whole pipeline on a synthetic partnership: synth, keygen, encode, link, report."""
    from dalink.demo import run_demo

    bars: list[TqdmProgress] = []

    def stage_progress(name: str) -> TqdmProgress | None:
        for bar in bars:
            bar.close()
        if not quiet:
            click.echo(f"- {name}", err=True)
        bars.append(TqdmProgress(name, enabled=not quiet, unit="rec" if name.startswith("encode") else "step"))
        return bars[-1]

    try:
        result = run_demo(output, people=people, seed=seed, stage_progress=stage_progress)
    finally:
        for bar in bars:
            bar.close()
    click.echo(f"report: {result.report_html}")
    labels = {
        "victims": "distinct victims",
        "repeat_victims": "repeat victims",
        "hidden_repeat_victims": "hidden repeat victims (visible only through linkage)",
    }
    for name, label in labels.items():
        measure = result.headline.get(name, {})
        truth = result.truth.get(name)
        truth_text = f"  (synthetic truth {truth})" if truth is not None else ""
        if measure.get("estimate") is None:  # withheld by disclosure control (a small count)
            click.echo(f"  {label}: [c] (withheld: fewer than the report's threshold){truth_text}")
        else:
            click.echo(
                f"  {label}: {measure['estimate']} (95% interval {measure.get('lower')}-{measure.get('upper')}){truth_text}"
            )
    total = sum(result.timings.values())
    click.echo(f"done in {total:.0f} s: " + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in result.timings.items()))


# --- commands ---


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
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
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
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
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


@main.command("synth")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Directory to create (must not exist).")
@click.option("--people", default=20_000, show_default=True, type=click.IntRange(10, 20_000_000), help="People in the simulated world.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0), help="Seed: the same seed gives the same files.")
@click.option("--years", default=3, show_default=True, type=click.IntRange(1, 30), help="Years simulated.")
@click.option(
    "--agencies",
    default="police,marac,refuge,housing,childrens_services,idva",
    show_default=True,
    help="Comma-separated agencies to write an extract for.",
)
@click.option("--area", default="hertfordshire", show_default=True, help="Partnership area: hertfordshire, essex or staffordshire.")
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
@handle_errors
def synth_command(output: str, people: int, seed: int, years: int, agencies: str, area: str, quiet: bool) -> None:
    """Write synthetic agency extracts with their ground truth (truth.csv, truth_measures.json).

    Synthetic people only: use it to try dalink, test a pipeline or rehearse a linkage project.
    """
    from dalink.synth import write_partnership

    chosen = [name.strip() for name in agencies.split(",") if name.strip()]
    with TqdmProgress("synthesising", enabled=not quiet, unit="step") as progress:
        target = write_partnership(
            output, people=people, seed=seed, years=years, agencies=chosen, area=area, progress=progress
        )
    import json

    parameters = json.loads((target / "parameters.json").read_text(encoding="utf-8"))
    records = parameters["records"]
    click.echo(
        f"{target}: {sum(records.values())} records of {parameters['people_with_records']} people "
        f"(" + ", ".join(f"{agency} {count}" for agency, count in records.items()) + ")"
    )
    click.echo(f"  ground truth: {target / 'truth.csv'}, {target / 'truth_measures.json'}")


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
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
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


def _read_json_object(path: str, what: str, error: type[DalinkError] = DalinkError) -> dict[str, Any]:
    """A JSON object from a file the user named, or ``error`` naming the file (never its content)."""
    import json
    from pathlib import Path

    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{path}: cannot read the {what} as JSON ({type(problem).__name__})") from None
    if not isinstance(loaded, dict):
        raise error(f"{path}: the {what} must be a JSON object")
    return loaded


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
@click.option("--quiet", is_flag=True, help="No progress bar (one is drawn only when stderr is a terminal).")
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

    settings = _read_json_object(config_file, "settings") if config_file else {}
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
