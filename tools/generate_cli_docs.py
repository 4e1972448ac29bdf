"""Regenerate docs/reference/cli.md from the CLI's own --help texts.

    python tools/generate_cli_docs.py
"""

from __future__ import annotations

from pathlib import Path

import click

from dalink.cli import main as cli

WIDTH = 100  # fixed, so the page does not depend on the terminal it was generated in
TARGET = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"


def render() -> str:
    # subcommand contexts get the group's as parent, as when run, so they inherit its settings (-h)
    root = cli.make_context("dalink", ["--help"], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH)
    lines = [
        "# Command-line reference",
        "",
        "Generated from `--help` by `tools/generate_cli_docs.py`; do not edit by hand.",
        "",
        "```text",
        cli.get_help(root),
        "```",
        "",
    ]
    for name in sorted(cli.commands):
        command = cli.commands[name]
        context = click.Context(command, info_name=name, parent=root)
        lines += [f"## dalink {name}", "", "```text", command.get_help(context), "```", ""]
    return "\n".join(lines)


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
