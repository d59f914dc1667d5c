# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Maintenance mode: the backend of the maintenance_mode module.

Enabled is three files: a JSON marker (reason, since, ends_at, by), an HTML page, and an nginx
snippet included in the site's ``server`` block. The snippet answers every request with 503, a
``Retry-After`` of the window's end and the page (``no-store``), answers the health path with a
small JSON document, and lets allow-listed addresses and the bypass token through.

Every value written into the snippet passes ``config_value`` (``_config_values``), and the rendered
snippet is parsed back and compared with the directives its template and values must give before
anything is written. Every change is checked with ``nginx -t`` before the reload; when the check
fails, the previous files are put back and the module fails with nginx's message. Writes and
rollbacks keep each file's owner, group and mode; a symbolic link at a file's place is replaced
(or put back), never written through nor read.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import errno
import getpass
import html
import ipaddress
import json
import os
import re
import secrets
import stat
import string
from dataclasses import dataclass
from typing import Any

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._config_values import (
    ConfigValueError,
    Directive,
    config_value,
    expand_sentinels,
    first_difference,
    nginx_directives,
)
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._files import OwnerNotKept, write_atomic
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import Backend

SCHEMA = "jarvis.maintenance/maintenance_mode/1"
PAGE_FILE = "maintenance.html"
# Retry-After when the window has no announced end: clients come back in five minutes.
DEFAULT_RETRY_SECONDS = 300
# The longest duration accepted: a leap year. Longer is a typo (and 99999999d overflows a datetime).
MAX_DURATION_DAYS = 366
_DURATION = re.compile(r"^\s*(?:([0-9]+)\s*d)?\s*(?:([0-9]+)\s*h)?\s*(?:([0-9]+)\s*m(?:in)?)?\s*(?:([0-9]+)\s*s)?\s*$")
# The page says lang="en": day and month names never come from the locale (strftime's %A, %B).
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_COOKIE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
MASK = "********"
# Files this module creates: the marker and the snippet (which holds the bypass token) 0600, the page
# 0644 (nginx's workers read it), owned by the user running the module. An existing file keeps its
# owner, group and mode.
NEW_FILE_MODE = 0o600
NEW_PAGE_MODE = 0o644


# The module's options; documented in plugins/modules/maintenance_mode.py.
ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["enabled", "disabled", "status"], "default": "status"},
    "root": {"type": "path", "default": "/opt/sutazaiapp"},
    "marker": {"type": "path"},
    "page_dir": {"type": "path"},
    "reason": {"type": "str", "default": "Scheduled maintenance"},
    "ends_at": {"type": "str"},
    "duration": {"type": "str"},
    "by": {"type": "str"},
    "contact": {"type": "str"},
    "system": {"type": "str", "default": "Jarvis"},
    "page_template": {"type": "path"},
    "snippet_template": {"type": "path"},
    "nginx_snippet": {"type": "path", "default": "/etc/nginx/snippets/jarvis-maintenance.conf"},
    "nginx_binary": {"type": "str", "default": "nginx"},
    "nginx_conf": {"type": "path"},
    "reload": {"type": "bool", "default": True},
    "allow_ips": {"type": "list", "elements": "str", "default": []},
    "bypass_token": {"type": "str", "no_log": True},
    "bypass_header": {"type": "str", "default": "X-Maintenance-Bypass", "no_log": False},
    "bypass_cookie": {"type": "str", "default": "jarvis_maintenance_bypass", "no_log": False},
    "health_path": {"type": "str", "default": "/health"},
    "health_status": {"type": "int", "choices": [200, 503], "default": 200},
}


# -- time -------------------------------------------------------------------------------


def utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0)


def iso(moment: datetime.datetime | None) -> str | None:
    """UTC, ISO 8601 with a Z (pure); the year always has four digits (strftime's %Y does not)."""
    return utc(moment).replace(tzinfo=None).isoformat(timespec="seconds") + "Z" if moment else None


def english_time(moment: datetime.datetime) -> str:
    """'Saturday 28 November 2026, 22:00 UTC' in English whatever LC_TIME says (pure)."""
    moment = utc(moment)
    return (
        f"{_DAYS[moment.weekday()]} {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year}, "
        f"{moment.hour:02d}:{moment.minute:02d} UTC"
    )


def parse_time(text: Any) -> datetime.datetime:
    """ISO 8601 date and time (pure); without an offset it is UTC. Raises ValueError saying what is
    wrong: not a date and time (or not a string), or outside the years 1 to 9999 in UTC."""
    if not isinstance(text, str):
        raise ValueError("it is not an ISO 8601 date and time")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("it is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    try:
        return utc(moment)
    except OverflowError:
        edge = "after the year 9999" if moment.year == datetime.MAXYEAR else "before the year 1"
        raise ValueError(f"it is {edge} once converted to UTC") from None


def quoted(text: Any, limit: int = 40) -> str:
    """repr of text cut to limit characters, for messages (pure)."""
    value = str(text)
    return repr(value if len(value) <= limit else value[:limit] + "...")


def parse_duration(text: str) -> int:
    """Seconds in '90', '90s', '45m', '2h', '1h30m', '1d 2h' (pure), at most MAX_DURATION_DAYS.
    Raises ValueError."""
    value = str(text).strip().lower()
    match = _DURATION.match(value)
    if value.isascii() and value.isdigit():
        parts: tuple[str | None, ...] = (None, None, None, value)
    elif match and any(match.groups()):
        parts = match.groups()
    else:
        raise ValueError(f"{quoted(text)} is not a duration like 90m, 2h or 1h30m")
    too_long = (
        f"{quoted(text)} is longer than {MAX_DURATION_DAYS} days, the longest maintenance window this module accepts"
    )
    # 366 days are 31622400 seconds: a number of more than 8 digits is too long, whatever its unit.
    if any(part and len(part.lstrip("0")) > 8 for part in parts):
        raise ValueError(too_long)
    days, hours, minutes, secs = (int(part or 0) for part in parts)
    seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    if seconds <= 0:
        raise ValueError(f"{quoted(text)} is not longer than 0 seconds")
    if seconds > MAX_DURATION_DAYS * 86400:
        raise ValueError(too_long)
    return seconds


def retry_after(ends_at: datetime.datetime | None, now: datetime.datetime) -> int:
    """Seconds until the window ends, at least 0; DEFAULT_RETRY_SECONDS without an end (pure)."""
    if ends_at is None:
        return DEFAULT_RETRY_SECONDS
    return max(0, int((ends_at - now).total_seconds()))


def retry_after_header(ends_at: datetime.datetime | None) -> str:
    """The Retry-After value nginx sends (pure): the end as an HTTP-date, so it stays right for
    the whole window without rewriting the snippet; delay-seconds without an end."""
    if ends_at is None:
        return str(DEFAULT_RETRY_SECONDS)
    return email.utils.format_datetime(utc(ends_at), usegmt=True)


# -- input ------------------------------------------------------------------------------


def address_rules(allow_ips: list[str]) -> list[tuple[str, str]]:
    """nginx conditions on $remote_addr for each allowed address or network (pure).

    Returns (operator, operand): ``=`` for one address, ``~`` with a regex for an IPv4 network
    (nginx has no CIDR test in a server block; geo would need the http block). Raises ValueError
    naming the entry.
    """
    rules = []
    for entry in allow_ips:
        text = str(entry).strip()
        if "%" in text:
            # ip_network takes any text after % as an IPv6 zone id and keeps it in str(): it would
            # land in the snippet verbatim. nginx's $remote_addr never carries a zone id.
            raise ValueError(
                f"allow_ips entry {quoted(text, 60)} has a zone id (%...), which nginx's $remote_addr never "
                "carries: give the address without it"
            )
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"allow_ips entry {quoted(text, 60)} is not an address or network: {exc}") from None
        if network.num_addresses == 1:
            rules.append(("=", config_value(str(network.network_address), "allow_ips", "address")))
        elif network.version == 6:
            raise ValueError(
                f"allow_ips entry {text!r}: IPv6 networks are not supported (nginx compares the address as text "
                "in a server block); list the IPv6 addresses themselves"
            )
        else:
            rules.append(("~", config_value(ipv4_network_regex(network), "allow_ips", "regex")))
    return rules


def ipv4_network_regex(network: Any) -> str:
    """A regex matching exactly the dotted-quad addresses of an IPv4 network (pure). It holds
    neither a backslash nor a $ (the dot is [.], the end of the address (?![0123456789])), so it passes the
    "regex" allow-list of config_value."""
    octets = str(network.network_address).split(".")
    whole, rest = divmod(network.prefixlen, 8)
    parts = list(octets[:whole])
    if rest:
        first = int(octets[whole])
        values = range(first, first + 2 ** (8 - rest))
        parts.append("(?:" + "|".join(str(value) for value in values) + ")")
    if not parts:
        return "^"
    # The last constrained octet is followed by a dot, or ends the address when it is the fourth.
    return "^" + "[.]".join(parts) + ("(?![0123456789])" if len(parts) == 4 else "[.]")


def header_variable(header: str) -> str:
    """The nginx variable of a request header: X-Maintenance-Bypass -> $http_x_maintenance_bypass."""
    return "$http_" + config_value(header.lower().replace("-", "_"), "bypass_header", "name")


def cookie_variable(cookie: str) -> str:
    """The nginx variable of a cookie: jarvis_maintenance_bypass -> $cookie_jarvis_maintenance_bypass."""
    return "$cookie_" + config_value(cookie, "bypass_cookie", "name")


def token_value(token: str) -> str:
    """The bypass token, checked like every value of the snippet, without showing it in a message."""
    try:
        return config_value(token, "bypass_token", "token")
    except ConfigValueError:
        raise ConfigValueError(
            "bypass_token cannot go into the nginx configuration: only 16 to 256 characters of "
            "A-Z a-z 0-9 . _ ~ + / = - may"
        ) from None


def check_params(params: dict[str, Any]) -> str | None:
    """Why these parameters cannot work, or None (pure). Names the parameter; never shows the token."""
    if params.get("ends_at") and params.get("duration"):
        return "ends_at and duration are mutually exclusive: give one"
    if params.get("ends_at"):
        try:
            parse_time(params["ends_at"])
        except ValueError as exc:
            return f"ends_at must be an ISO 8601 time like 2026-11-29T02:00:00Z, got {params['ends_at']!r} ({exc})"
    if params.get("duration"):
        try:
            parse_duration(params["duration"])
        except ValueError as exc:
            return f"duration: {exc}"
    token = params.get("bypass_token")
    if token and not _TOKEN.match(token):
        return (
            "bypass_token must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = - "
            "(it is compared in the nginx snippet and sent in a header or cookie)"
        )
    if not _HEADER.match(params.get("bypass_header") or ""):
        return f"bypass_header must be a header name (letters, digits, dashes), got {params.get('bypass_header')!r}"
    if not _COOKIE.match(params.get("bypass_cookie") or ""):
        return f"bypass_cookie must be letters, digits and underscores, got {params.get('bypass_cookie')!r}"
    if not _PATH.match(params.get("health_path") or ""):
        return f"health_path must be a plain URL path like /health, got {params.get('health_path')!r}"
    if params.get("page_dir") is not None:
        try:
            config_value(params["page_dir"], "page_dir (or root)", "path")
        except ConfigValueError as exc:
            return str(exc)
    if params.get("health_status") not in (200, 503):
        return f"health_status must be 200 or 503, got {params.get('health_status')!r}"
    try:
        address_rules(params.get("allow_ips") or [])
    except ValueError as exc:
        return str(exc)
    for name in ("reason", "contact"):
        if len(params.get(name) or "") > 2000:
            return f"{name} is longer than 2000 characters"
    return None


# -- content ----------------------------------------------------------------------------

BUILTIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Maintenance in progress - ${system}</title>
<style>
  body { margin: 0; font: 1.125rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         background: #f4f5f7; color: #1b1f24; }
  main { max-width: 40rem; margin: 12vh auto; padding: 2rem; background: #fff; border-radius: 8px;
         border: 1px solid #d0d7de; }
  h1 { font-size: 1.75rem; line-height: 1.25; margin-top: 0; }
  .end { font-weight: 700; }
  @media (prefers-color-scheme: dark) {
    body { background: #0d1117; color: #e6edf3; }
    main { background: #161b22; border-color: #30363d; }
  }
</style>
</head>
<body>
<main>
<h1>${system} is down for maintenance</h1>
<p>${reason}</p>
<p class="end">${end_sentence}</p>
<p>This page does not update itself: reload it to check again.${contact_sentence}</p>
</main>
</body>
</html>
"""


def page_values(
    reason: str, since: datetime.datetime, ends_at: datetime.datetime | None, contact: str | None, system: str
) -> dict[str, str]:
    """The page's ${...} values, HTML-escaped (pure)."""
    if ends_at:
        human = english_time(ends_at)
        end_sentence = f'Expected back by <time datetime="{iso(ends_at)}">{html.escape(human)}</time>.'
    else:
        end_sentence = "The end of this maintenance has not been announced yet."
    contact_sentence = f" Questions: {html.escape(contact)}." if contact else ""
    return {
        "system": html.escape(system),
        "reason": html.escape(reason),
        "since": iso(since) or "",
        "ends_at": iso(ends_at) or "",
        "end_sentence": end_sentence,
        "contact": html.escape(contact or ""),
        "contact_sentence": contact_sentence,
    }


def render(template: str, values: dict[str, str], name: str) -> str:
    """A ${name} template filled in (pure). Raises ValueError naming the option and an unknown
    placeholder or a stray $."""
    try:
        return string.Template(template).substitute(values)
    except KeyError as exc:
        raise ValueError(f"{name} uses ${{{exc.args[0]}}}, which is not one of {', '.join(sorted(values))}") from None
    except ValueError as exc:
        raise ValueError(f"{name} has a stray $: {exc} (write $$ for a dollar sign)") from None


def render_page(template: str, values: dict[str, str]) -> str:
    return render(template, values, "page_template")


def render_snippet(template: str, values: dict[str, str]) -> str:
    return render(template, values, "snippet_template")


BUILTIN_SNIPPET = """# Managed by jarvis.maintenance.maintenance_mode: maintenance mode is ON
# (since ${since}, until ${ends_at}). Include it in the site's server block with a pattern
# (include .../jarvis-maintenance*.conf;) so that removing it turns maintenance mode off.
set $$jarvis_maintenance on;
${pass_rules}set $$jarvis_maintenance_route "$$jarvis_maintenance:$$uri";
if ($$jarvis_maintenance_route = "on:${health_path}") { rewrite ^ /__jarvis_maintenance/health last; }
if ($$jarvis_maintenance = on) { return 503; }
error_page 503 @jarvis_maintenance;
location = /__jarvis_maintenance/health {
    internal;
    default_type application/json;
    add_header Cache-Control "no-store" always;
    add_header Retry-After "${retry_after}" always;
    return ${health_status} '${health_body}';
}
location @jarvis_maintenance {
    root ${page_dir};
    default_type text/html;
    charset utf-8;
    add_header Cache-Control "no-store" always;
    add_header Retry-After "${retry_after}" always;
    rewrite ^ /${page_file} break;
}
"""


def pass_conditions(allow_ips: list[str], token: str | None, header: str, cookie: str) -> list[tuple[str, str, str]]:
    """(variable, operator, operand) of each condition that lets a request through (pure); every
    part checked by config_value."""
    conditions = [("$remote_addr", operator, operand) for operator, operand in address_rules(allow_ips)]
    if token:
        conditions.append((header_variable(header), "=", token_value(token)))
        conditions.append((cookie_variable(cookie), "=", token_value(token)))
    return conditions


def pass_rules(allow_ips: list[str], token: str | None, header: str, cookie: str) -> str:
    """The `if` lines that let allow-listed addresses and the bypass token through (pure)."""
    return "".join(
        f'if ({variable} {operator} "{operand}") {{ set $jarvis_maintenance off; }}\n'
        for variable, operator, operand in pass_conditions(allow_ips, token, header, cookie)
    )


def pass_directives(allow_ips: list[str], token: str | None, header: str, cookie: str) -> tuple[Directive, ...]:
    """The directives pass_rules must parse to (pure), built from the same data, not from its text."""
    turn_off: tuple[Directive, ...] = ((("set", "$jarvis_maintenance", "off"), None),)
    return tuple(
        (("if", f"({variable}", operator, operand, ")"), turn_off)
        for variable, operator, operand in pass_conditions(allow_ips, token, header, cookie)
    )


def snippet_values(
    params: dict[str, Any], since: datetime.datetime, ends_at: datetime.datetime | None
) -> dict[str, str]:
    """The snippet's ${...} values (pure). The health body is plain ASCII JSON (no quote to escape)."""
    health = {"status": "maintenance", "since": iso(since)}
    if ends_at:
        health["ends_at"] = iso(ends_at)
    # Every value passes config_value, named by the option it comes from.
    return {
        "since": config_value(iso(since) or "", "since", "quoted"),
        "ends_at": config_value(iso(ends_at) or "not announced", "ends_at", "quoted"),
        "pass_rules": pass_rules(
            params.get("allow_ips") or [], params.get("bypass_token"), params["bypass_header"], params["bypass_cookie"]
        ),
        "health_path": config_value(params["health_path"], "health_path", "path"),
        "health_status": config_value(str(params["health_status"]), "health_status", "number"),
        "health_body": config_value(json.dumps(health, separators=(",", ":")), "health_body", "single_quoted"),
        "retry_after": config_value(retry_after_header(ends_at), "ends_at (Retry-After)", "quoted"),
        "page_dir": config_value(params["page_dir"], "page_dir (or root)", "path"),
        "page_file": config_value(PAGE_FILE, "page_file", "token"),
        "bypass_variable": header_variable(params["bypass_header"]),
    }


def check_snippet(template: str, values: dict[str, str], snippet: str, passes: tuple[Directive, ...]) -> None:
    """Raise ValueError unless the rendered snippet parses to exactly the directives of its template
    with each value in its place (pure).

    The template is rendered once more with a plain word (a sentinel) for each value and parsed;
    each sentinel is then replaced by its value, and ${pass_rules} by passes (built from data).
    A value that broke out of its quotes or its directive gives other directives and is refused
    before anything is written."""
    sentinels = {name: f"JARVISVALUE{index}END" for index, name in enumerate(sorted(values))}
    skeleton_values = dict(sentinels)
    skeleton_values["pass_rules"] = sentinels["pass_rules"] + ";\n"
    try:
        skeleton = nginx_directives(render_snippet(template, skeleton_values))
    except ConfigValueError as exc:
        raise ValueError(f"snippet_template does not parse as nginx configuration: {exc}") from None
    words = {sentinel: values[name] for name, sentinel in sentinels.items() if name != "pass_rules"}
    expected = expand_sentinels(skeleton, words, {sentinels["pass_rules"]: passes})
    try:
        found = nginx_directives(snippet)
    except ConfigValueError as exc:
        raise ValueError(f"the rendered nginx snippet does not parse ({exc}): a value broke out of its place") from None
    difference = first_difference(expected, found)
    if difference:
        raise ValueError(
            f"the rendered nginx snippet is not what its template and values give ({difference}): a value broke out "
            "of its place, or snippet_template puts a value where it splits into several words (quote it)"
        )


_COMPARED = re.compile(r'(\$(?:http|cookie)_[A-Za-z0-9_]+\s*=\s*")[^"]*(")')


def masked(text: str | None, secret: str | None) -> str | None:
    """text with the secret replaced, and any value a header or cookie is compared with in a
    snippet (the token of an earlier run), for --diff and messages (pure)."""
    if text is None:
        return text
    if secret:
        text = text.replace(secret, MASK)
    return _COMPARED.sub(lambda match: match.group(1) + MASK + match.group(2), text)


def build_marker(
    reason: str, since: datetime.datetime, ends_at: datetime.datetime | None, by: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The marker document (pure): what, since when, until when, by whom; no token."""
    return {
        "schema": SCHEMA,
        "enabled": True,
        "reason": reason,
        "since": iso(since),
        "ends_at": iso(ends_at),
        "by": by,
        "allow_ips": list(params.get("allow_ips") or []),
        "bypass": bool(params.get("bypass_token")),
        "health_status": params["health_status"],
    }


def marker_text(marker: dict[str, Any]) -> str:
    return json.dumps(marker, indent=2, sort_keys=True) + "\n"


def read_marker(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """The marker, or None when there is no file; and a problem when the file is there but not ours.

    A marker that cannot be read, is not UTF-8, not JSON nor a date, or not an object is still
    present (``{"enabled": true, "since": null}``): state=disabled removes it, state=enabled
    replaces it. A since or ends_at that is not a time is reported and read as null. The
    runbook's marker (one line with a date) is read as since. A symbolic link or anything but a
    regular file is present but not read (not followed, no FIFO to block on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        cause = "it is a symbolic link, which is not followed" if exc.errno == errno.ELOOP else str(exc)
        return ({"enabled": True, "since": None} if os.path.lexists(path) else None), f"cannot read {path}: {cause}"
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return {"enabled": True, "since": None}, f"cannot read {path}: it is not a regular file"
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"enabled": True, "since": None}, f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        first = text.strip().splitlines()[0] if text.strip() else ""
        try:
            since = iso(parse_time(first))
        except ValueError:
            return {"enabled": True, "since": None, "legacy": True}, f"{path} is not JSON nor a date"
        return {"enabled": True, "since": since, "legacy": True}, None
    if not isinstance(document, dict):
        return {"enabled": True, "since": None}, f"{path} is JSON but not an object"
    problem = None
    for key in ("since", "ends_at"):
        if document.get(key) is None:
            continue
        try:
            parse_time(document[key])
        except ValueError:
            problem = problem or f"{path} has {'a' if key == 'since' else 'an'} {key} that is not a time"
            document[key] = None
    return document, problem


@dataclass(frozen=True)
class FileState:
    """What is at a path: a regular file's bytes (a file may not be UTF-8), owner, group and mode;
    or a symbolic link (content None, link its target), which is never followed."""

    content: bytes | None
    uid: int
    gid: int
    mode: int
    link: str | None = None


def read_state(path: str) -> FileState | None:
    """What is at path, or None when nothing is. Raises ModuleError for something that is
    neither a regular file nor a symbolic link, or that turns into a link while it is read."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return FileState(None, info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), link=os.readlink(path))
    if not stat.S_ISREG(info.st_mode):
        raise ModuleError(f"Cannot change maintenance mode: {path} is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModuleError(
                f"Cannot change maintenance mode: {path} became a symbolic link while it was read"
            ) from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModuleError(f"Cannot change maintenance mode: {path} is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        content = handle.read()
    return FileState(content, info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))


def content_of(state: FileState | None) -> bytes | None:
    """The bytes of a regular file; None for nothing or a link (both differ from any wanted file)."""
    return state.content if state is not None else None


def as_text(state: FileState | None) -> str | None:
    """A file's content for --diff, bytes that are not UTF-8 shown as U+FFFD (pure)."""
    if state is None:
        return None
    if state.link is not None:
        return f"(a symbolic link to {state.link}, replaced, not followed)\n"
    return (state.content or b"").decode("utf-8", errors="replace")


def write_file(path: str, content: bytes, keep: FileState | None, new_mode: int) -> None:
    """Write content atomically over path with the owner, group and mode of the regular file it
    replaces (keep; new_mode and the running user for a new file or one replacing a link). Raises
    ModuleError when the owner cannot be kept (path is then untouched)."""
    kept = keep is not None and keep.link is None
    try:
        write_atomic(path, content, keep.mode if kept else new_mode, owner=(keep.uid, keep.gid) if kept else None)
    except OwnerNotKept:
        raise ModuleError(
            f"Cannot write {path}: its owner and group ({keep.uid}:{keep.gid}) cannot be kept by "
            f"user {os.geteuid()}; run the module as root or as the file's owner"
        ) from None


def put_back(path: str, state: FileState | None, new_mode: int) -> None:
    """Put path back as it was: nothing, the same link, or the same bytes, owner, group and mode."""
    if state is None:
        if os.path.lexists(path):
            os.unlink(path)
    elif state.link is not None:
        temp = os.path.join(os.path.dirname(path) or ".", f".tmp-{secrets.token_hex(8)}")
        os.symlink(state.link, temp)
        os.replace(temp, path)
    else:
        write_file(path, state.content or b"", state, new_mode)


def default_by() -> str:
    for name in ("SUDO_USER", "USER", "LOGNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name is not an error here
        return "unknown"


# -- backend ----------------------------------------------------------------------------


class MaintenanceMode(Backend):
    """Backend of the maintenance_mode module."""

    def __init__(self, params: Any, check_mode: bool, host: Any, now: datetime.datetime | None = None) -> None:
        super().__init__(dict(params), check_mode, host)
        root = self.params["root"]
        self.params["marker"] = self.params.get("marker") or os.path.join(root, ".maintenance_mode")
        self.params["page_dir"] = self.params.get("page_dir") or os.path.join(root, "maintenance")
        self.page = os.path.join(self.params["page_dir"], PAGE_FILE)
        self.snippet = self.params["nginx_snippet"]
        self.now = utc(now or datetime.datetime.now(datetime.timezone.utc))
        self.token = self.params.get("bypass_token")

    # -- common ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        marker, problem = read_marker(self.params["marker"])
        snippet_present = os.path.exists(self.snippet)
        result: dict[str, Any] = {
            "changed": False,
            "enabled": marker is not None,
            "marker": self.params["marker"],
            "page": self.page,
            "snippet": self.snippet,
            "snippet_present": snippet_present,
            "since": None,
            "ends_at": None,
            "retry_after": None,
            "reason": None,
            "by": None,
            "overdue": False,
        }
        if marker is not None:
            # read_marker has set an ends_at that is not a time to None.
            ends_at = parse_time(marker["ends_at"]) if marker.get("ends_at") else None
            result.update(
                since=marker.get("since"),
                ends_at=iso(ends_at),
                retry_after=retry_after(ends_at, self.now),
                reason=marker.get("reason"),
                by=marker.get("by"),
                overdue=bool(ends_at and ends_at < self.now),
            )
        result["consistent"] = result["enabled"] == snippet_present
        problems = []
        if problem:
            problems.append(problem)
        if not result["consistent"]:
            problems.append(
                f"the marker {self.params['marker']} is {'present' if result['enabled'] else 'absent'} but the nginx "
                f"snippet {self.snippet} is {'present' if snippet_present else 'absent'}: run state=enabled or "
                "state=disabled to make them agree"
            )
        if result["overdue"]:
            problems.append(f"the maintenance window ended at {result['ends_at']} and maintenance mode is still on")
        # Not `warnings`: Ansible takes that key for the module's own warnings.
        result["problems"] = problems
        for text in problems:
            self.host.warn(text)
        return result

    def nginx_path(self) -> str:
        """The nginx binary, checked before anything changes (run_command would fail the module
        half-way otherwise)."""
        found = self.host.get_bin_path(self.params["nginx_binary"])
        if not found:
            raise ModuleError(
                f"Cannot change maintenance mode: nginx_binary {self.params['nginx_binary']} is not found "
                "(set nginx_binary, or reload=false to manage only the files)"
            )
        return found

    def run_nginx(self, *args: str) -> tuple[int, str]:
        argv = [self.nginx_path()]
        if self.params.get("nginx_conf"):
            argv += ["-c", self.params["nginx_conf"]]
        argv += list(args)
        rc, out, err = self.host.run_command(argv)
        return rc, (err or out).strip()

    def new_mode(self, path: str) -> int:
        """The mode of a file this module creates (an existing file keeps its own)."""
        return NEW_FILE_MODE if path in (self.snippet, self.params["marker"]) else NEW_PAGE_MODE

    def apply(self, files: dict[str, str | None], what: str) -> bool:
        """Write (str) or remove (None) each file, check nginx and reload it. Puts every file back
        (same bytes, owner, group and mode) and raises ModuleError with nginx's message when
        the check or the reload fails. Returns whether nginx was reloaded."""
        before = {path: read_state(path) for path in files}
        try:
            for path, content in files.items():
                if content is None:
                    if os.path.lexists(path):
                        os.unlink(path)
                else:
                    directory = os.path.dirname(path)
                    if directory and not os.path.isdir(directory):
                        os.makedirs(directory, mode=0o755)
                    write_file(path, content.encode("utf-8"), before[path], self.new_mode(path))
            if not self.params["reload"]:
                return False
            rc, message = self.run_nginx("-t")
            if rc != 0:
                raise ModuleError(
                    f"Cannot {what}: nginx -t failed, so nginx was not reloaded and the previous files are back: "
                    f"{masked(message, self.token)}"
                )
            rc, message = self.run_nginx("-s", "reload")
            if rc != 0:
                raise ModuleError(
                    f"Cannot {what}: nginx -s reload failed (the previous files are back): "
                    f"{masked(message, self.token)}"
                )
            return True
        except BaseException:
            self.restore(before)
            raise

    def restore(self, before: dict[str, FileState | None]) -> None:
        for path, state in before.items():
            with contextlib.suppress(OSError, ModuleError):
                put_back(path, state, self.new_mode(path))

    # -- enabled --------------------------------------------------------------------
    def window(self, existing: dict[str, Any] | None) -> tuple[datetime.datetime, datetime.datetime | None]:
        """since (kept from an enabled marker, so a re-run changes nothing) and ends_at."""
        since = self.now
        if existing and existing.get("since"):
            try:
                since = parse_time(existing["since"])
            except ValueError:
                since = self.now
        ends_at = None
        if self.params.get("ends_at"):
            ends_at = parse_time(self.params["ends_at"])
        elif self.params.get("duration"):
            length = datetime.timedelta(seconds=parse_duration(self.params["duration"]))
            try:
                ends_at = since + length
            except OverflowError:
                # Only a damaged marker's since (the year 9999) gets here: a duration is at most a year.
                since = self.now
                ends_at = since + length
        return since, ends_at

    def enable(self) -> dict[str, Any]:
        params = self.params
        existing, problem = read_marker(params["marker"])
        if problem:
            self.host.warn(f"{problem}: state=enabled replaces it")
        since, ends_at = self.window(existing)
        reason = params["reason"]
        earlier_by = (existing or {}).get("by")
        by = params.get("by") or (earlier_by if isinstance(earlier_by, str) else None) or default_by()
        marker = build_marker(reason, since, ends_at, by, params)
        try:
            template = BUILTIN_PAGE
            if params.get("page_template"):
                template = self.read_template(params["page_template"], "page_template")
            page = render_page(template, page_values(reason, since, ends_at, params.get("contact"), params["system"]))
            snippet_template = BUILTIN_SNIPPET
            if params.get("snippet_template"):
                snippet_template = self.read_template(params["snippet_template"], "snippet_template")
            values = snippet_values(params, since, ends_at)
            snippet = render_snippet(snippet_template, values)
            passes = pass_directives(
                params.get("allow_ips") or [], self.token, params["bypass_header"], params["bypass_cookie"]
            )
            check_snippet(snippet_template, values, snippet, passes)
        except ValueError as exc:
            raise ModuleError(f"Cannot enable maintenance mode: {masked(str(exc), self.token)}") from None
        wanted = {params["marker"]: marker_text(marker), self.page: page, self.snippet: snippet}
        current = {path: read_state(path) for path in wanted}
        changed = any(content_of(current[path]) != text.encode("utf-8") for path, text in wanted.items())
        result = {
            "changed": changed,
            "enabled": True,
            "since": iso(since),
            "ends_at": iso(ends_at),
            "retry_after": retry_after(ends_at, self.now),
            "reason": reason,
            "by": by,
            "marker": params["marker"],
            "page": self.page,
            "snippet": self.snippet,
            "reloaded": False,
            "diff": self.diff({path: as_text(content) for path, content in current.items()}, wanted),
        }
        if changed and not self.check_mode:
            if params["reload"]:
                self.nginx_path()
            # The page first (nginx serves it as soon as the snippet is live), the snippet last.
            ordered = {self.page: page, params["marker"]: wanted[params["marker"]], self.snippet: snippet}
            result["reloaded"] = self.apply(ordered, "enable maintenance mode")
        return result

    def read_template(self, path: str, name: str) -> str:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise ValueError(f"{name} {path} cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name} {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    # -- disabled -------------------------------------------------------------------
    def disable(self) -> dict[str, Any]:
        params = self.params
        paths = [self.snippet, params["marker"], self.page]
        # Bytes, and the marker read only for since: a file that is not UTF-8 or not JSON goes too.
        current = {path: read_state(path) for path in paths}
        changed = any(state is not None for state in current.values())
        existing, problem = read_marker(params["marker"])
        if problem:
            self.host.warn(f"{problem}: state=disabled removes it")
        result = {
            "changed": changed,
            "enabled": False,
            "was_enabled_since": (existing or {}).get("since"),
            "marker": params["marker"],
            "page": self.page,
            "snippet": self.snippet,
            "reloaded": False,
            "diff": self.diff({path: as_text(content) for path, content in current.items()}, dict.fromkeys(paths)),
        }
        if changed and not self.check_mode:
            if params["reload"]:
                self.nginx_path()
            # The snippet goes first and nginx is reloaded; the marker and page only after that worked.
            result["reloaded"] = self.apply({self.snippet: None}, "disable maintenance mode")
            self.apply_plain({params["marker"]: None, self.page: None})
        return result

    def apply_plain(self, files: dict[str, None]) -> None:
        for path in files:
            if os.path.lexists(path):
                os.unlink(path)

    def diff(self, before: dict[str, str | None], after: dict[str, str | None]) -> list[dict[str, str]]:
        """--diff of the marker and the snippet, the token masked."""
        shown = []
        for path in (self.params["marker"], self.snippet):
            if path not in before:
                continue
            shown.append(
                {
                    "before_header": path,
                    "after_header": path,
                    "before": masked(before[path], self.token) or "",
                    "after": masked(after.get(path), self.token) or "",
                }
            )
        return shown

    def run(self) -> dict[str, Any]:
        raise_problem("Cannot manage maintenance mode", check_params(self.params))
        state = self.params["state"]
        try:
            result = {"status": self.status, "enabled": self.enable, "disabled": self.disable}[state]()
        except OSError as exc:
            raise ModuleError(f"Cannot set maintenance mode {state}: {exc}") from exc
        diff = result.pop("diff", None)
        if self.host.diff and diff is not None:  # shown with --diff only: it holds the files' text
            result["diff"] = diff
        return result
