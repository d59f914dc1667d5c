# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role option that holds a secret is no_log in the role's argument specs, in every entry point."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).absolute().parents[3]
# Names that hold secrets by what they are; URLs that can carry a token are listed by name.
SECRET = re.compile(r"(password|token|secret|webhook_url)$")
SECRET_URLS = {"notify_status_page_url"}


def secret_options():
    for path in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        for entry, spec in (yaml.safe_load(path.read_text()).get("argument_specs") or {}).items():
            for name, option in (spec.get("options") or {}).items():
                if SECRET.search(name) or name in SECRET_URLS:
                    yield f"{path.parts[-3]}:{entry}:{name}", option


def test_the_secret_options_are_found():
    found = {name.split(":")[-1] for name, _option in secret_options()}
    notify = {"notify_slack_webhook_url", "notify_slack_token", "notify_email_password", "notify_status_page_url"}
    assert notify <= found


def test_every_secret_option_is_no_log():
    assert [name for name, option in secret_options() if not option.get("no_log")] == []
