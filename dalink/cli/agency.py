"""Agency-side commands: keygen, encode and inspect.

An agency runs these on its own premises, where its identifiers are: create the partnership
key, encode an extract with it, and see what a package holds before sending it. Only these
commands create or read the key, which the linker must never hold.
"""

from __future__ import annotations

import time

import click

from dalink.cli import TqdmProgress, handle_errors, main, quiet_option, read_json_object

CHECK_ROWS_SHOWN = 20  # rejected rows listed by `dalink encode --check`
REJECTED_SHARE_WARNING = 0.05  # above this share of rejected rows, `dalink encode` warns


def _parse_mapping(column_map: str | None, mappings: tuple[str, ...]) -> dict[str, str]:
    """Column mapping from a JSON file ``{"given_name": "Forename", ...}`` and ``--map std=theirs`` options."""
    from dalink.errors import InputFileError

    mapping: dict[str, str] = {}
    if column_map:
        loaded = read_json_object(column_map, "column mapping", InputFileError)
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
@quiet_option
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
