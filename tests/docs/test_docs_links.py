# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Markdown documents hold together (make docs-lint runs this).

- Every relative link and image of every Markdown file of the repository (tracked, or new and not
  ignored) points at a file or directory that exists inside the repository.
- Every `#anchor` into a Markdown file (its own or another) matches a heading there, by GitHub's rules
  for heading anchors, which the docs site follows too.
- Every guide in docs/ is linked from the README and listed in the docs site's index.
- No file of the repository mentions a document the repository does not contain.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
# Documents other projects keep and this repository does not: a mention would send a reader nowhere.
ABSENT_DOCUMENTS = ("DESIGN.md", "STYLE.md", "TOOLCHAIN.md", "../shared")


def repository_files(*patterns: str) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z", "--", *patterns],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (REPO / name).is_file())


MARKDOWN = repository_files("*.md")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target), with an optional "title"; text may hold one level of brackets
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose(text: str) -> str:
    """A Markdown text with its fenced code blocks blanked out (line numbers kept)."""
    lines = text.split("\n")
    fence = None
    for index, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            lines[index] = ""
        elif fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            lines[index] = ""
    return "\n".join(lines)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation but - and _ dropped, spaces -."""
    text = CODE_SPAN.sub(lambda match: match.group(2).strip(), heading)
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", text)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for line in prose(path.read_text(encoding="utf-8")).split("\n"):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def links(path: Path):
    """(line number, target) of each link and image of a Markdown file, outside code; a link may span lines."""
    text = CODE_SPAN.sub(lambda match: " " * len(match.group(0)), prose(path.read_text(encoding="utf-8")))
    for match in LINK.finditer(text):
        yield text.count("\n", 0, match.start()) + 1, match.group(1)


def broken_links(name: str) -> list[str]:
    source = REPO / name
    problems = []
    for number, target in links(source):
        where = f"{name}:{number}: ({target})"
        if not target:
            problems.append(f"{where} has no target")
            continue
        if SCHEME.match(target):
            continue  # a URL (https:, mailto:): not a file of the repository
        path_part, _hash, anchor = target.partition("#")
        path_part = unquote(path_part)
        if path_part.startswith("/"):
            resolved = (REPO / path_part.lstrip("/")).resolve()
        elif path_part:
            resolved = (source.parent / path_part).resolve()
        else:
            resolved = source
        if resolved != REPO and REPO not in resolved.parents:
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: {resolved.relative_to(REPO)} does not exist")
        elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
            problems.append(f"{where}: no heading of {resolved.relative_to(REPO)} has the anchor #{anchor}")
    return problems


def test_there_are_markdown_files_to_check():
    assert "README.md" in MARKDOWN
    assert "docs/operator-guide.md" in MARKDOWN


@pytest.mark.parametrize("name", MARKDOWN)
def test_every_link_resolves(name):
    problems = broken_links(name)
    assert not problems, "\n".join(problems)


def test_the_slug_rules():
    assert github_slug("`health_check`") == "health_check"
    assert github_slug("Connections and the jarvis_* variables") == "connections-and-the-jarvis_-variables"
    assert github_slug("Performance Optimization and Monitoring & Cleanup") == (
        "performance-optimization-and-monitoring--cleanup"
    )
    assert github_slug("daily.yml") == "dailyyml"
    assert github_slug("Pre-Maintenance Communication (`maintenance_notification.sh`)") == (
        "pre-maintenance-communication-maintenance_notificationsh"
    )
    assert github_slug("Runbook item -> replacement") == "runbook-item---replacement"


def test_a_broken_link_and_a_wrong_anchor_are_found(tmp_path, monkeypatch):
    """The check itself: a page with a missing target and a wrong anchor fails, naming both."""
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## A section\n\n```\n# not a heading\n```\n")
    (tmp_path / "README.md").write_text(
        "[ok](docs/guide.md#a-section) [gone](docs/gone.md) [wrong](docs/guide.md#not-a-heading)\n"
        "[up](../outside.md) `[in code](nowhere.md)` [web](https://example.com/x.md) [self](#readme)\n"
        "\n# README\n"
    )
    problems = broken_links("README.md")
    assert len(problems) == 3, problems
    assert "docs/gone.md does not exist" in problems[0]
    assert "no heading of docs/guide.md has the anchor #not-a-heading" in problems[1]
    assert "points outside the repository" in problems[2]


GUIDES = sorted(name for name in MARKDOWN if re.fullmatch(r"docs/[^/]+\.md", name))


@pytest.mark.parametrize("guide", GUIDES)
def test_every_guide_is_linked_from_the_readme_and_the_site_index(guide):
    readme_targets = {target.partition("#")[0] for _number, target in links(REPO / "README.md")}
    assert guide in readme_targets, f"README.md does not link {guide}"
    index = (REPO / "docs" / "site" / "index.rst").read_text(encoding="utf-8")
    listed = re.search(rf"^   {re.escape(guide[: -len('.md')])}$", index, re.M)
    assert listed, f"docs/site/index.rst does not list {guide}"


def test_no_file_mentions_a_document_the_repository_lacks():
    mentions = []
    for name in repository_files():
        path = REPO / name
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files
        for absent in ABSENT_DOCUMENTS:
            if absent in text:
                mentions.append(f"{name} mentions {absent}")
    assert not mentions, "\n".join(mentions)
