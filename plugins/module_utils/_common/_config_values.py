# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Values into configuration (pure): one allow-list check, and an nginx parser to check a rendered file.

Every value a module writes into nginx (or any) configuration goes through ``config_value``: it
returns the value unchanged when each of its characters is allowed where the value goes (its
grammar), and raises ``ConfigValueError`` naming the option otherwise. No grammar allows ``\\``,
``$``, ``;``, ``%``, a newline or a character outside ASCII; only the text of a quoted string may
hold spaces, and only a single-quoted string ``"``, ``{`` and ``}``. The allow-lists are the
guard: nothing is escaped, so what is written is exactly what was given.

After rendering, ``nginx_directives`` parses the file back (nginx's own tokenizing rules, simplified)
so a writer can compare it with the directives it expects (``expand_sentinels``): a value that
broke out of its place changes the directives and is caught before ``nginx -t`` and the reload.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Union

__all__ = [
    "GRAMMARS",
    "ConfigValueError",
    "Directive",
    "config_value",
    "expand_sentinels",
    "first_difference",
    "nginx_directives",
]


class ConfigValueError(ValueError):
    """A value that cannot go into configuration; the message names the option."""


@dataclass(frozen=True)
class Grammar:
    """Where a value goes: the characters allowed there, its length, a required first character."""

    description: str
    characters: frozenset[str]
    max_length: int
    first: str = ""
    min_length: int = 1


_ALNUM = string.ascii_letters + string.digits

GRAMMARS: dict[str, Grammar] = {
    # an HTTP status code, a port, a count
    "number": Grammar("digits", frozenset(string.digits), 9),
    # a variable, cookie or header name part: $cookie_<name>, $http_<name>
    "name": Grammar("letters, digits and underscores", frozenset(_ALNUM + "_"), 64),
    # IPv4 dotted quad or IPv6 text; no zone id (%...), which $remote_addr never carries
    "address": Grammar("hexadecimal digits, dots and colons (an address without a zone id)",
                       frozenset(string.hexdigits + ".:"), 45, min_length=2),
    # an IPv4 network as a regex of octets: ^10[.](?:20|21)[.] ... (?![0123456789])
    "regex": Grammar("digits and the regex characters . ^ ( ) ? : | [ ] !",
                     frozenset(string.digits + ".^()?:|[]!"), 4096),
    # an absolute path or URL path, unquoted
    "path": Grammar("letters, digits and . _ ~ / - (an absolute path)", frozenset(_ALNUM + "._~/-"), 4096, first="/"),
    # a secret or a plain word compared inside double quotes
    "token": Grammar("letters, digits and . _ ~ + / = -", frozenset(_ALNUM + "._~+/=-"), 256),
    # the text of a double-quoted string: an HTTP date, a time, a short sentence
    "quoted": Grammar("letters, digits, spaces and . , : _ ~ + / = @ -", frozenset(_ALNUM + " .,:_~+/=@-"), 1024,
                      min_length=0),
    # the text of a single-quoted string: a small JSON document
    "single_quoted": Grammar('letters, digits, spaces and " { } [ ] . , : _ ~ + / = @ -',
                             frozenset(_ALNUM + ' ".,:_~+/=@-{}[]'), 4096, min_length=0),
    # a crontab time field: 0, */6, 1,4,7,10, mon-fri
    "cron_field": Grammar("letters, digits and * / , -", frozenset(_ALNUM + "*/,-"), 64),
    # a word of a crontab command line, shell-quoted by its writer: a path, an argument, a value
    "cron_word": Grammar("letters, digits, spaces and . , : _ ~ + / = @ -", frozenset(_ALNUM + " .,:_~+/=@-"), 4096),
}  # fmt: skip


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def config_value(value: Any, name: str, grammar: str, where: str = "the nginx configuration") -> str:
    """value, unchanged, when every character of it is allowed by grammar (pure).

    name is the option the value came from (``allow_ips``, ``page_dir``...), shown in the
    message of the ``ConfigValueError`` raised for anything else: a value that is not a string or
    an int, too short or too long, not starting with the grammar's first character, or holding
    a character the grammar does not allow (the first such character is named)."""
    rule = GRAMMARS[grammar]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigValueError(f"{name} cannot go into {where}: it is a {type(value).__name__}, not text")
    text = str(value)
    if len(text) < rule.min_length:
        raise ConfigValueError(f"{name} cannot go into {where}: it is empty")
    for character in text:
        if character not in rule.characters:
            raise ConfigValueError(
                f"{name} {_shown(text)} cannot go into {where}: it holds {character!r}, and only "
                f"{rule.description} may go there"
            )
    if len(text) > rule.max_length:
        raise ConfigValueError(
            f"{name} {_shown(text)} cannot go into {where}: it is longer than {rule.max_length} characters"
        )
    if rule.first and not text.startswith(rule.first):
        raise ConfigValueError(f"{name} {_shown(text)} cannot go into {where}: it must start with {rule.first!r}")
    return text


# -- parsing nginx configuration back ---------------------------------------------------------

# A directive: its words (name first, quotes removed) and its block, or None when it ends with ";".
Directive = tuple[tuple[str, ...], Union[tuple["Directive", ...], None]]

_SPACE = " \t\r\n"
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", '"': '"', "'": "'", "\\": "\\"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def where(self) -> str:
        return f"line {self.text.count(chr(10), 0, self.at) + 1}"

    def fail(self, problem: str) -> ConfigValueError:
        return ConfigValueError(f"{problem} at {self.where()}")

    def word(self) -> str:
        """One word at self.at: a quoted string (without its quotes) or a bare word."""
        text, quote = self.text, self.text[self.at]
        if quote in "\"'":
            self.at += 1
            out = []
            while self.at < len(text) and text[self.at] != quote:
                if text[self.at] == "\\" and self.at + 1 < len(text):
                    following = text[self.at + 1]
                    out.append(_ESCAPES.get(following, "\\" + following))
                    self.at += 2
                    continue
                out.append(text[self.at])
                self.at += 1
            if self.at >= len(text):
                raise self.fail(f"unterminated {quote} string")
            self.at += 1
            # nginx wants a space, ";", "{" or ")" after a quoted string
            if self.at < len(text) and text[self.at] not in _SPACE + ";{)":
                raise self.fail(f"unexpected {text[self.at]!r} after a quoted string")
            return "".join(out)
        start = self.at
        while self.at < len(text):
            character = text[self.at]
            if character == "\\" and self.at + 1 < len(text):
                self.at += 2
                continue
            if character in _SPACE + ";" or (character == "{" and text[self.at - 1 : self.at] != "$"):
                break
            self.at += 1
        return text[start : self.at]

    def block(self, nested: bool) -> tuple[Directive, ...]:
        directives: list[Directive] = []
        words: list[str] = []
        text = self.text
        while True:
            while self.at < len(text) and text[self.at] in _SPACE:
                self.at += 1
            if self.at >= len(text):
                if words or nested:
                    raise self.fail("unexpected end of file (a missing ';' or '}')")
                return tuple(directives)
            character = text[self.at]
            if character == "#" and not words:
                end = text.find("\n", self.at)
                self.at = len(text) if end < 0 else end
            elif character == "#":
                # a comment inside a directive (nginx allows it; nothing here writes one)
                raise self.fail("a comment inside a directive")
            elif character == ";":
                if not words:
                    raise self.fail("unexpected ';'")
                directives.append((tuple(words), None))
                words = []
                self.at += 1
            elif character == "{":
                if not words:
                    raise self.fail("unexpected '{'")
                self.at += 1
                directives.append((tuple(words), self.block(nested=True)))
                words = []
            elif character == "}":
                if words or not nested:
                    raise self.fail("unexpected '}'")
                self.at += 1
                return tuple(directives)
            else:
                words.append(self.word())


def nginx_directives(text: str) -> tuple[Directive, ...]:
    """The directives of an nginx configuration fragment (pure), comments left out.

    Raises ConfigValueError for what nginx would not parse either (an unterminated string, a
    missing ';' or '}', a stray brace)."""
    return _Parser(text).block(nested=False)


def expand_sentinels(
    directives: tuple[Directive, ...], words: dict[str, str], blocks: dict[str, tuple[Directive, ...]]
) -> tuple[Directive, ...]:
    """directives parsed from a template rendered with sentinels, with each sentinel word replaced
    by its value (inside any word) and each directive that is only a block sentinel replaced by
    its directives (pure): what the template rendered with the real values must parse to."""
    expanded: list[Directive] = []
    for parts, block in directives:
        if block is None and len(parts) == 1 and parts[0] in blocks:
            expanded.extend(blocks[parts[0]])
            continue
        new_parts = []
        for part in parts:
            for sentinel, value in words.items():
                part = part.replace(sentinel, value)
            new_parts.append(part)
        expanded.append(
            (tuple(new_parts), None if block is None else expand_sentinels(block, words, blocks)),
        )
    return tuple(expanded)


def _flat(directives: tuple[Directive, ...], depth: int = 0) -> list[str]:
    lines = []
    for parts, block in directives:
        lines.append("    " * depth + " ".join(parts) + (" {" if block is not None else ";"))
        if block is not None:
            lines.extend(_flat(block, depth + 1))
            lines.append("    " * depth + "}")
    return lines


def first_difference(expected: tuple[Directive, ...], found: tuple[Directive, ...]) -> str | None:
    """None when equal, else the first directive that differs, as 'expected X, found Y' (pure)."""
    if expected == found:
        return None
    want, got = _flat(expected), _flat(found)
    for index in range(max(len(want), len(got))):
        left = want[index] if index < len(want) else "(nothing)"
        right = got[index] if index < len(got) else "(nothing)"
        if left != right:
            return f"expected {left.strip()!r}, found {right.strip()!r}"
    return "the directives differ"  # pragma: no cover - _flat is one-to-one
