# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sphinx configuration of the docs site (`make docs`; docs/site/build.py lays out the sources it reads).

The sources are a staging directory, not the repository: the reference that antsibull-docs generates
from the collection (collection/), the Markdown files of the repository at their own paths (README.md,
docs/*.md, ...; read by myst-parser) and index.rst from this directory.
"""

from __future__ import annotations

import posixpath
import re

from docutils import nodes

project = "jarvis.maintenance"
copyright = "Jarvis operations team"  # pylint: disable=redefined-builtin # the name Sphinx reads
author = "Jarvis operations team"
title = "jarvis.maintenance"
html_short_title = "jarvis.maintenance"
html_title = "jarvis.maintenance"

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
extensions = ["myst_parser", "sphinx_antsibull_ext"]

# As antsibull-docs sphinx-init sets them for a collection site.
pygments_style = "ansible"
# A Markdown code block without a language is plain text (results tables, log lines); the generated
# reference names its languages (yaml+jinja for the examples).
highlight_language = "none"
html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = "any"
display_version = False
# No top bar of links to ansible.com (the theme adds one unless told otherwise).
html_theme_options = {"collapse_navigation": False, "topbar_links": {}}

# Headings get the anchors GitHub gives them, so that "guide.md#a-heading" works on the site as on a forge.
myst_heading_anchors = 6

# No intersphinx: the site builds offline. The generated reference names plugins of other collections
# (ansible.builtin, community.*) and pages of Ansible's own documentation by their labels there; those
# labels become links to docs.ansible.com (_ansible_docs_link), and any other missing label fails the build.
ANSIBLE_DOCS = "https://docs.ansible.com/ansible/latest/"
ANSIBLE_PAGES = {
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
PLUGIN_LABEL = re.compile(r"ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+)_([a-z]+)(?:__(.+))?$")

# Markdown links between the repository's files: a link to a Markdown file of the site stays a link;
# a link to any other file of the repository (a playbook, a script, a directory) has no page on the
# site and becomes its text. tests/docs checks that every such link resolves in the repository.
LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)")


def _unlink_repository_files(app, docname, source):
    """source-read: turn the links of a Markdown page into text where they point outside the site."""
    if app.env.doc2path(docname).suffix != ".md":
        return
    here = posixpath.dirname(docname)
    documents = app.env.found_docs

    def replace(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            return match.group(0)
        path = target.split("#", 1)[0]
        resolved = posixpath.normpath(posixpath.join(here, path))
        if path.endswith(".md") and resolved[: -len(".md")] in documents:
            return match.group(0)
        return text

    source[0] = LINK.sub(replace, source[0])


def _ansible_docs_link(app, env, node, contnode):
    """missing-reference: a label of Ansible's documentation becomes a link to its page there."""
    if node.get("refdomain") != "std" or node.get("reftype") not in ("ref", "any"):
        return None
    target = node.get("reftarget", "")
    if target in ANSIBLE_PAGES:
        url = ANSIBLE_DOCS + ANSIBLE_PAGES[target]
    else:
        match = PLUGIN_LABEL.match(target)
        if not match or match.group(1) == "jarvis":
            return None
        namespace, name, plugin, kind, anchor = match.groups()
        url = f"{ANSIBLE_DOCS}collections/{namespace}/{name}/{plugin}_{kind}.html" + (f"#{anchor}" if anchor else "")
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("source-read", _unlink_repository_files)
    app.connect("missing-reference", _ansible_docs_link)
