"""Render a report.html to PNG with headless Chromium, to check it looks right.

    python benchmarks/screenshot_report.py REPORT_DIR/report.html -o report.png
    python benchmarks/screenshot_report.py --demo -o report.png   # builds a small synthetic report first

Chromium runs with networking disabled (a proxy that does not exist), so a page that needed
the network would render broken. Needs ``chromium`` (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    html_path: Path,
    png_path: Path,
    *,
    width: int = 1100,
    height: int = 6000,
    section: str | None = None,
    timeout: float = 120,
) -> Path:
    """Write a screenshot of ``html_path`` (only one ``<section>`` if given); raise on failure."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("chromium is not installed")
    with tempfile.TemporaryDirectory() as profile:
        if section:
            page = html_path.read_text(encoding="utf-8").replace(
                "</style>", f"section:not(#{section}){{display:none}}h1,.lede{{display:none}}</style>", 1
            )
            html_path = Path(profile) / "section.html"
            html_path.write_text(page, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--proxy-server=127.0.0.1:9",  # nothing listens there: any fetch fails
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png_path.resolve()}",
            html_path.resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    if not png_path.exists():
        raise RuntimeError("chromium wrote no screenshot")
    return png_path


def _demo_report(directory: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
    from linkage_fixture import make_events, write_linkage

    from dalink.report.report import build_report
    from dalink.report.uncertainty import UncertaintyConfig

    linkage = write_linkage(directory / "linkage", make_events(2500, seed=3), split_rate=0.03, merge_rate=0.01)
    build_report(linkage, directory / "report", uncertainty=UncertaintyConfig(replicates=40))
    return directory / "report" / "report.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", nargs="?", type=Path, help="report.html to render")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.png"))
    parser.add_argument("--demo", action="store_true", help="build a small synthetic report and render it")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=6000)
    parser.add_argument("--section", help="show only this section (summary, repeat, hidden, moves, ...)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        html = _demo_report(Path(scratch)) if arguments.demo else arguments.html
        if html is None:
            parser.error("give a report.html or --demo")
        screenshot(html, arguments.output, width=arguments.width, height=arguments.height, section=arguments.section)
    print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
