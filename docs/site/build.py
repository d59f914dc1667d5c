# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Build the docs site: `make docs` runs `python docs/site/build.py <repo> <staging dir> <html dir>`.

1. antsibull-docs writes the reference of jarvis.maintenance (modules, filters, roles) as RST into
   <staging>/collection, from the collection Ansible finds (ANSIBLE_COLLECTIONS_PATH: `make collection`
   links the working tree there). --fail-on-error: a plugin or role whose documentation does not
   parse fails the build instead of getting an error page.
2. The repository's Markdown files (tracked, or new and not ignored) are copied to the same paths
   under <staging>, and docs/site/index.rst to its root: relative links between them keep working.
3. sphinx-build turns <staging> into HTML in <html dir> with docs/site/conf.py; every warning
   (a broken reference, an anchor that matches no heading, a page missing from the index) fails it.

The staging and HTML directories are emptied first: both are generated, under the git-ignored .build/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

SITE = Path(__file__).resolve().parent


def run(argv: list[str]) -> None:
    print("+ " + " ".join(argv), flush=True)
    subprocess.run(argv, check=True)


def markdown_files(repo: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-co", "--exclude-standard", "-z", "--", "*.md"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(name for name in listed.split("\0") if name and (repo / name).is_file())


def empty(directory: Path) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    repo, staging, html = (Path(arg).resolve() for arg in argv[1:])
    for generated in (staging, html):
        if repo not in generated.parents or (repo / ".build") not in (generated, *generated.parents):
            print(f"build.py: {generated} is not under {repo}/.build: refusing to empty it", file=sys.stderr)
            return 2
    bin_dir = Path(sys.executable).parent
    started = time.monotonic()
    empty(staging)
    empty(html)
    reference = staging / "collection"
    reference.mkdir()
    reference.chmod(0o755)  # antsibull-docs refuses a destination that others may write to
    run(
        [
            str(bin_dir / "antsibull-docs"),
            "--config-file",
            str(SITE / "antsibull-docs.cfg"),
            "collection",
            "--use-current",
            "--squash-hierarchy",
            "--fail-on-error",
            "--dest-dir",
            str(reference),
            "jarvis.maintenance",
        ]
    )
    for name in markdown_files(repo):
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo / name, staging / name)
    shutil.copyfile(SITE / "index.rst", staging / "index.rst")
    run(
        [
            str(bin_dir / "sphinx-build"),
            "-b",
            "html",
            "-c",
            str(SITE),
            "-W",
            "--keep-going",
            "-q",
            str(staging),
            str(html),
        ]
    )
    print(f"docs: {html / 'index.html'} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
