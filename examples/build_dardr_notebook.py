"""Build ``examples/dardr_learning.ipynb``, the analyst's DARDR learning notebook, from this script.

The notebook is generated rather than edited by hand so that its cells live in reviewable
Python source and the file itself holds no outputs (no synthetic names in the repository
history, clean diffs). Rebuild after changing a cell:

    python examples/build_dardr_notebook.py            # writes examples/dardr_learning.ipynb
    python examples/build_dardr_notebook.py --check    # exit 1 if the notebook is out of date

The test suite runs the notebook end to end (``tests/chronology/test_dardr_notebook.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = Path(__file__).with_name("dardr_learning.ipynb")

CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        """# DARDR learning with dalink

Domestic Abuse Related Death Reviews (DARDRs) ask every agency what it knew about the victim
and the perpetrator. The recurring finding is that **no agency saw the whole picture**. This
notebook shows how a partnership's linkage analyst produces, on request, the combined
chronology of a review's subjects, a summary for the panel, and learning across reviews.

Everything here runs on **synthetic people** made by `dalink synth`, end to end:
synthesise → key → encode (each agency) → link → chronology per review → learning across reviews.

**Safeguards** (see `docs/dardr.md`):

* a chronology is produced only for a review, on a request that names who asked and why;
  every request is appended to `chronology_audit.jsonl` in the linkage directory before
  anything is returned;
* subjects are named by record ids chosen by the chair's office (`V1`, `P1`), never by name;
* dalink produces no risk scores and no flags about a person: it says which agency saw the
  person, when, where and in what role;
* learning leaves the restricted setting only as counts, after disclosure control
  (small counts withheld as `[c]`, the rest rounded).""",
    ),
    (
        "code",
        """# Parameters: a small partnership so the notebook runs in well under two minutes.
PEOPLE = 1500      # people in the synthetic world
SEED = 7           # same seed, same partnership
REVIEWS = 20       # synthetic reviews (a victim and the perpetrator each)
WORK_DIR = None    # None: a temporary directory, removed at the end""",
    ),
    (
        "code",
        """import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from dalink.chronology import aggregate_learning, combined_chronology, panel_summary, read_audit_log, verify_audit_log
from dalink.encode.encoder import encode_file
from dalink.keys import generate_key_file
from dalink.match.linker import link
from dalink.report.disclosure import DisclosureRules
from dalink.synth import synthesise, write_partnership

try:
    import matplotlib.pyplot as plt
except ImportError:  # charts are optional: tables are shown instead
    plt = None

started = time.perf_counter()
work = Path(WORK_DIR) if WORK_DIR else Path(tempfile.mkdtemp(prefix="dardr-"))
work.mkdir(parents=True, exist_ok=True)
pd.set_option("display.width", 160)
print("working in", work)""",
    ),
    (
        "markdown",
        """## 1. The partnership: synthetic agency extracts

`dalink synth` simulates victims, perpetrators and their contacts with police, MARAC, refuges,
housing, children's services and IDVA services, with the errors real extracts have (typos,
nicknames, changed surnames, missing postcodes). `truth.csv` says which records are the same
person; only synthetic data has it, and it is used at the end to check the chronologies.""",
    ),
    (
        "code",
        """partnership = synthesise(people=PEOPLE, seed=SEED)
data_dir = write_partnership(work / "data", partnership)
pd.Series({agency: len(extract) for agency, extract in partnership.extracts.items()}, name="records").to_frame()""",
    ),
    (
        "markdown",
        """## 2. Each agency encodes its own extract with the partnership key

The key never reaches the linker. In practice each agency runs `dalink encode` in its own ETL
script; here one loop plays every agency.""",
    ),
    (
        "code",
        """key = generate_key_file(work / "partnership.key")
packages = []
for agency in partnership.extracts:
    package = work / "packages" / f"{agency}.dalink"
    package.parent.mkdir(exist_ok=True)
    encode_file(data_dir / f"{agency}.csv", package, agency=agency, key=key)
    packages.append(package)
[package.name for package in packages]""",
    ),
    (
        "markdown",
        """## 3. The trusted linker links the packages (without the key)""",
    ),
    (
        "code",
        """linkage_dir = work / "linkage"
linkage = link(packages, linkage_dir)
summary = linkage.summary
print(f"{summary['records']} records → {summary['entities']} entities; links at probability ≥ {summary['match_threshold']:.3f}")
print("estimated precision {precision:.3f}, recall {recall:.3f} (the model's own estimate)".format(**summary["estimated_quality"]))""",
    ),
    (
        "markdown",
        """## 4. The review chair's office encodes the subjects

For each review the chair's office writes a one-line-per-subject extract (the victim and the
perpetrator, under record ids it chooses), with the date under review as `event_date`, and
encodes it with the partnership key under its own agency name (`dardr`). Here the subjects
are synthetic victims known to several agencies, and the people who harmed them.""",
    ),
    (
        "code",
        """people = partnership.people
known = set(people.loc[people["records"] > 0, "person_id"])
victims = people[(people["kind"] == "victim") & (people["records"] >= 3) & people["perpetrator_id"].isin(known)]
victims = victims.sample(n=min(REVIEWS, len(victims)), random_state=SEED).sort_values("person_id")
truth = partnership.truth.astype({"record_id": str})
last_contact = partnership.events().groupby("entity_id")["event_date"].max()


def subject_row(record_id, person, review_date):
    return {
        "record_id": record_id, "given_name": person.given_name, "middle_name": person.middle_name,
        "family_name": person.family_name, "date_of_birth": person.date_of_birth, "sex": person.sex,
        "postcode": person.home_postcode, "event_date": review_date, "event_type": "dardr_subject",
        "local_authority": person.home_local_authority, "role": person.kind,
        "risk_level": None, "referring_agency": None,
    }


by_id = people.set_index("person_id", drop=False)
reviews = []  # (review name, subject package, {subject id: true person}) — the truth is for checking only
(work / "reviews").mkdir(exist_ok=True)
for number, victim in enumerate(victims.itertuples(index=False), start=1):
    review_date = (pd.Timestamp(last_contact[victim.person_id]) + pd.Timedelta(days=30)).date().isoformat()
    perpetrator = by_id.loc[victim.perpetrator_id]
    frame = pd.DataFrame([subject_row("V1", victim, review_date), subject_row("P1", perpetrator, review_date)])
    source = work / "reviews" / f"review_{number:02d}.csv"
    frame.to_csv(source, index=False)
    encode_file(source, source.with_suffix(".dalink"), agency="dardr", key=key)
    source.unlink()  # the chair's office keeps the identifiers; only the package goes to the linker
    reviews.append((f"DARDR 2024/{number:02d}", source.with_suffix(".dalink"), {"V1": victim.person_id, "P1": perpetrator.person_id}))
del key  # the linker holds no key from here on
print(f"{len(reviews)} reviews, {2 * len(reviews)} subjects")""",
    ),
    (
        "markdown",
        """## 5. A combined chronology (restricted)

No chronology without `requested_by` and `reason`; the request is logged before the result
comes back. Each event carries the probability that its record is the subject's (the
linkage's own model, subject against record). By default only records that match a subject
directly are returned; `expand_entities=True` also brings in the records the linkage ties to
them (marked `linked_by = linkage`), at some cost in precision.""",
    ),
    (
        "code",
        """try:
    combined_chronology(linkage_dir, reviews[0][1], requested_by="", reason="curiosity", packages=packages)
except Exception as error:  # a request without a requester is refused before anything is read
    print(type(error).__name__ + ":", error)

review_name, subject_package, _ = reviews[0]
chronology = combined_chronology(
    linkage_dir, subject_package, requested_by="Chair, Community Safety Partnership DARDR panel",
    reason=review_name, packages=packages,
)
chronology.subjects""",
    ),
    (
        "code",
        """chronology.events.drop(columns=["entity_id"])""",
    ),
    (
        "markdown",
        """### Panel summary

Agencies in contact in the twelve months before the date under review, victim episodes and
whether they make a repeat that no single agency could see, moves between local
authorities, duplicate referrals — the partnership report's definitions, per subject.""",
    ),
    (
        "code",
        """panel = panel_summary(chronology)
print(panel.render_text())""",
    ),
    (
        "markdown",
        """### Timeline of agency contacts""",
    ),
    (
        "code",
        """def timeline(chronology, panel):
    events = chronology.events.assign(date=pd.to_datetime(chronology.events["event_date"]))
    agencies = sorted(events["agency"].unique())
    if plt is None:
        return events.pivot_table(index="agency", columns="subject", values="date", aggfunc="count", fill_value=0)
    figure, axes = plt.subplots(figsize=(10, 0.6 * len(agencies) + 2))
    markers = {"victim": "o", "perpetrator": "s"}
    for offset, (subject, group) in zip((-0.12, 0.12), events.groupby("subject")):
        role = group["subject_role"].iloc[0]
        rows = group["agency"].map({agency: index for index, agency in enumerate(agencies)}) + offset
        axes.scatter(group["date"], rows, marker=markers.get(role, "^"), s=50, label=f"{subject} ({role})", alpha=0.85)
    for item in panel.subjects[:1]:
        if item.reference_date:
            axes.axvline(pd.Timestamp(item.reference_date), color="black", linestyle="--", linewidth=1)
            axes.axvspan(pd.Timestamp(item.window_start), pd.Timestamp(item.reference_date), color="grey", alpha=0.1,
                         label="12 months before the date under review")
    axes.set_yticks(range(len(agencies)), agencies)
    axes.set_ylim(-0.6, len(agencies) - 0.4)
    axes.set_title(f"{chronology.request.reason}: agency contacts")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    plt.show()


timeline(chronology, panel)""",
    ),
    (
        "markdown",
        """## 6. Every review, and the audit log

Each review is its own request with its own reason. The audit log records who asked, why,
when, which subject record ids and how many events — never a name — and each entry is
chained to the one before, so a removed or edited entry shows.""",
    ),
    (
        "code",
        """summaries = [panel]
chronologies = [chronology]
for review_name, subject_package, _ in reviews[1:]:
    result = combined_chronology(
        linkage_dir, subject_package, requested_by="Chair, Community Safety Partnership DARDR panel",
        reason=review_name, packages=packages,
    )
    chronologies.append(result)
    summaries.append(panel_summary(result))

print("audit entries:", verify_audit_log(linkage_dir), "(chain intact)")
pd.DataFrame(
    [
        {"requested_at": e.requested_at, "requested_by": e.requested_by, "reason": e.reason,
         "subjects": ", ".join(e.subjects), "events": e.events_returned, "outcome": e.outcome}
        for e in read_audit_log(linkage_dir)
    ]
).tail(5)""",
    ),
    (
        "markdown",
        """## 7. Learning across reviews (counts only, disclosure-controlled)

Counts of review subjects by pattern of agency contact. Counts below 10 are withheld
(`[c]`), the rest rounded to 5, and further cells withheld wherever a total would give a
withheld count back. With few reviews most cells are withheld: that is the rule working.""",
    ),
    (
        "code",
        """learning = aggregate_learning(summaries, DisclosureRules())
print(learning.render_text())""",
    ),
    (
        "code",
        """def learning_chart(learning):
    table = learning.subjects.frame["Total"]
    if plt is None:
        return table.to_frame()
    figure, axes = plt.subplots(figsize=(9, 3.5))
    shown = table.fillna(0)
    bars = axes.barh(range(len(table)), shown, color=["#0072B2" if pd.notna(v) else "#d9d9d9" for v in table])
    for bar, value in zip(bars, table):
        axes.text(bar.get_width() + 0.3, bar.get_y() + bar.get_height() / 2, "[c]" if pd.isna(value) else f"{value:.0f}", va="center")
    axes.set_yticks(range(len(table)), table.index, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("review subjects (rounded to 5; [c] withheld)")
    axes.set_title(f"Learning across {learning.reviews} reviews")
    figure.tight_layout()
    plt.show()


learning_chart(learning)""",
    ),
    (
        "markdown",
        """## 8. Checking the chronologies against the synthetic truth

Only possible on synthetic data: how many of the events returned are really the subject's,
and how many of the subject's records were found.""",
    ),
    (
        "code",
        """rows = []
for (review_name, _, true_people), result in zip(reviews, chronologies):
    events = result.events.merge(truth, on=["agency", "record_id"], how="left")
    for subject, person in true_people.items():
        returned = events[events["subject"] == subject]
        correct = int((returned["person_id"] == person).sum())
        rows.append({"review": review_name, "subject": subject, "returned": len(returned), "correct": correct,
                     "true_records": int((truth["person_id"] == person).sum())})
check = pd.DataFrame(rows)
precision = check["correct"].sum() / max(check["returned"].sum(), 1)
recall = check["correct"].sum() / max(check["true_records"].sum(), 1)
print(f"events returned that are the subject's: {precision:.1%}; subject's records found: {recall:.1%}")
assert precision > 0.8 and recall > 0.8
check.head()""",
    ),
    (
        "code",
        """if WORK_DIR is None:
    shutil.rmtree(work)
print(f"done in {time.perf_counter() - started:.0f} s")""",
    ),
]


def build_notebook() -> nbformat.NotebookNode:
    """The notebook, from :data:`CELLS`."""
    cells = [new_markdown_cell(source) if kind == "markdown" else new_code_cell(source) for kind, source in CELLS]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"dardr-{index:02d}"  # stable ids keep rebuilds byte-identical
    return notebook


def render() -> str:
    return nbformat.writes(build_notebook())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="Exit 1 if the notebook differs from this script's.")
    parser.add_argument("-o", "--output", type=Path, default=NOTEBOOK)
    arguments = parser.parse_args()
    text = render()
    if arguments.check:
        current = arguments.output.read_text(encoding="utf-8") if arguments.output.exists() else ""
        if current != text:
            print(f"{arguments.output} is out of date; run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    nbformat.validate(nbformat.reads(text, as_version=4))
    arguments.output.write_text(text, encoding="utf-8")
    print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
