"""The generated reference pages are what their generators make today, and name every variable read."""

from __future__ import annotations

import re
from pathlib import Path

from pjstore import docs
from pjstore.scan_search.options import SearchOptions
from pjstore.server.settings import SEARCH_ENV_PREFIX, SETTINGS, search_env

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_the_configuration_page_is_up_to_date():
    assert CONFIGURATION.read_text() == docs.configuration(), f"out of date: regenerate it with `{docs.COMMAND}`"


def test_every_setting_and_search_variable_is_on_the_page():
    page = CONFIGURATION.read_text()
    for s in SETTINGS:
        assert f"| `{s.option}` | `{s.env}` |" in page
    for name in search_env(SearchOptions()):
        assert f"`{name}`" in page


def test_every_pjstore_variable_the_code_reads_is_on_the_page():
    page = CONFIGURATION.read_text()
    sources = [p for d in ("pjstore", "tools", "eval", "tests") for p in (ROOT / d).rglob("*.py")]
    sources.append(ROOT / "bootstrap.sh")
    read = {m for p in sources for m in re.findall(r"PJSTORE_[A-Z0-9_]*[A-Z0-9]", p.read_text())}
    read.discard(SEARCH_ENV_PREFIX.rstrip("_"))  # the prefix itself, as `PJSTORE_SEARCH_<FIELD>` is written
    assert len(read) > 20  # the scan found the settings table, not nothing
    assert sorted(name for name in read if f"`{name}`" not in page) == []


def test_the_command_prints_a_page_or_its_usage(capsys):
    assert docs.run(["configuration"]) == 0
    assert capsys.readouterr().out == docs.configuration()
    assert docs.run(["nonsense"]) == 2
    assert "usage: python -m pjstore.docs {configuration}" in capsys.readouterr().err


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_resolves():
    pages = [ROOT / "README.md", ROOT / "eval" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in {
                    _slug(h) for h in re.findall(r"^#+ (.*)$", linked.read_text(), re.M)}:
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_the_readme_stays_a_landing_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150, "the README is a landing page: move detail into docs/"
    for command in ("./bootstrap.sh demo", "./bootstrap.sh test"):
        assert f"    {command}" in readme  # the two commands, as a block a newcomer copies
