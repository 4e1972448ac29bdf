"""Synthetic-data commands: synth and demo.

They invent a partnership's people and agency extracts, with the ground truth, so that dalink
can be tried, tested and rehearsed without real data; demo also runs every other stage on one.
"""

from __future__ import annotations

import click

from dalink.cli import TqdmProgress, handle_errors, main, quiet_option
from dalink.demo import DEFAULT_PEOPLE


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
@quiet_option
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
