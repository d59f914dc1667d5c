# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._config_values import (
    GRAMMARS,
    ConfigValueError,
    config_value,
    expand_sentinels,
    first_difference,
    nginx_directives,
)

ATTACK = 'fe80::1%x") { set $x 1; } set $jarvis_maintenance off; if ($remote_addr = "y'

# -- config_value: what each grammar takes --------------------------------------------------


@pytest.mark.parametrize(
    ("grammar", "value"),
    [
        ("address", "127.0.0.1"),
        ("address", "10.20.30.40"),
        ("address", "::1"),
        ("address", "2001:db8::1"),
        ("address", "fe80::1"),
        ("address", "::ffff:192.0.2.1"),
        ("regex", "^10[.](?:20|21|22|23)[.]"),
        ("regex", "^192[.]168[.]1[.](?:64|65)(?![0123456789])"),
        ("regex", "^"),
        ("number", "200"),
        ("number", 503),
        ("name", "x_maintenance_bypass"),
        ("path", "/health"),
        ("path", "/opt/sutazaiapp/maintenance"),
        ("path", "/"),
        ("token", "test-bypass-0123456789abcdef"),
        ("token", "a.b_c~d+e/f=g-h"),
        ("quoted", "Sat, 28 Nov 2026 22:00:00 GMT"),
        ("quoted", "2026-11-28T20:00:00Z"),
        ("quoted", "not announced"),
        ("quoted", ""),
        ("single_quoted", '{"status":"maintenance","since":"2026-11-28T20:00:00Z"}'),
    ],
)
def test_config_value_accepts(grammar, value):
    assert config_value(value, "option", grammar) == str(value)


@pytest.mark.parametrize(
    ("grammar", "value", "found"),
    [
        # the reported attack, and zone ids in general
        ("address", ATTACK, "'%'"),
        ("address", "fe80::1%eth0", "'%'"),
        ("address", "::1%$jarvis_maintenance", "'%'"),
        # each character that breaks out of an nginx value
        ("address", '127.0.0.1"', "'\"'"),
        ("address", "127.0.0.1;", "';'"),
        ("address", "127.0.0.1 ", "' '"),
        ("regex", "^10\\.", "'\\\\'"),
        ("regex", "^10[.]$", "'$'"),
        ("regex", '^10") { set $x 1; } if ("', "'\"'"),
        ("number", "200;", "';'"),
        ("number", "2OO", "'O'"),
        ("name", "x-bypass", "'-'"),
        ("name", "x}", "'}'"),
        ("path", "/opt/app; return 200", "';'"),
        ("path", "/opt/app dir", "' '"),
        ("path", "/opt/$app", "'$'"),
        ("path", "/opt/{app}", "'{'"),
        ("path", "/opt/app\\", "'\\\\'"),
        ("path", "/opt/%2e%2e", "'%'"),
        ("path", "/opt/caf\u00e9", "'é'"),
        ("token", 'abc"def', "'\"'"),
        ("token", "abc def", "' '"),
        ("quoted", 'Sat"; add_header X 1; "', "'\"'"),
        ("quoted", "line\nbreak", "'\\n'"),
        ("quoted", "tab\there", "'\\t'"),
        ("quoted", "cost $5", "'$'"),
        ("quoted", "a;b", "';'"),
        ("quoted", "a{b", "'{'"),
        ("single_quoted", '{"a":"b\'; return 200 \'x"}', '"\'"'),
        ("single_quoted", '{"a":"$host"}', "'$'"),
        ("single_quoted", '{"a":"\\u0027"}', "'\\\\'"),
        ("single_quoted", '{"a":"b;c"}', "';'"),
    ],
)
def test_config_value_refuses_naming_the_option_and_the_character(grammar, value, found):
    with pytest.raises(ConfigValueError) as refused:
        config_value(value, "allow_ips", grammar)
    message = str(refused.value)
    assert message.startswith("allow_ips ")
    assert "cannot go into the nginx configuration" in message
    assert f"it holds {found}" in message


@pytest.mark.parametrize(
    ("grammar", "value", "problem"),
    [
        ("address", "", "it is empty"),
        ("path", "", "it is empty"),
        ("path", "relative/dir", "it must start with '/'"),
        ("token", "x" * 257, "longer than 256 characters"),
        ("number", "1" * 10, "longer than 9 characters"),
        ("quoted", None, "it is a NoneType, not text"),
        ("number", True, "it is a bool, not text"),
        ("quoted", ["a"], "it is a list, not text"),
    ],
)
def test_config_value_refuses_shapes(grammar, value, problem):
    with pytest.raises(ConfigValueError, match=re.escape(problem)):
        config_value(value, "option", grammar)


# A value each grammar takes, to which one character is added.
VALID = {
    "number": "200",
    "name": "abc",
    "address": "::1",
    "regex": "^10",
    "path": "/a",
    "token": "abc",
    "quoted": "abc",
    "single_quoted": "abc",
    "cron_field": "*/6",
    "cron_word": "-e jarvis_maintenance_window=true",
}


def test_every_grammar_has_a_valid_example():
    assert set(VALID) == set(GRAMMARS)
    assert all(config_value(value, "option", grammar) == value for grammar, value in VALID.items())


@pytest.mark.parametrize("grammar", sorted(GRAMMARS))
@pytest.mark.parametrize("character", ["\\", "$", ";", "%", "\n", "\r", "\t", "'", "#", "\x00", "\u2028", "\u00e9"])
def test_no_grammar_takes_an_escaping_character(grammar, character):
    with pytest.raises(ConfigValueError, match=re.escape(f"it holds {character!r}")):
        config_value(VALID[grammar] + character, "option", grammar)


@pytest.mark.parametrize("grammar", sorted(set(GRAMMARS) - {"quoted", "single_quoted", "cron_word"}))
@pytest.mark.parametrize("character", [" ", '"', "{", "}"])
def test_only_quoted_text_takes_spaces_quotes_and_braces(grammar, character):
    with pytest.raises(ConfigValueError, match=re.escape(f"it holds {character!r}")):
        config_value(VALID[grammar] + character, "option", grammar)


@pytest.mark.parametrize("grammar", ["quoted", "cron_word"])
def test_double_quoted_text_and_crontab_words_take_no_double_quote_nor_brace(grammar):
    for character in '"{}':
        with pytest.raises(ConfigValueError, match=re.escape(f"it holds {character!r}")):
            config_value("abc" + character, "option", grammar)


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(ConfigValueError) as refused:
        config_value("/" + "a" * 100 + ";", "page_dir", "path")
    assert "..." in str(refused.value) and "a" * 100 not in str(refused.value)


# -- parsing nginx back -----------------------------------------------------------------------

OFF = ((("set", "$jarvis_maintenance", "off"), None),)


@pytest.mark.parametrize(
    ("text", "directives"),
    [
        ("set $a on;", ((("set", "$a", "on"), None),)),
        ("# a comment\nset $a on; # another\n", ((("set", "$a", "on"), None),)),
        (
            'if ($remote_addr = "127.0.0.2") { set $jarvis_maintenance off; }',
            ((("if", "($remote_addr", "=", "127.0.0.2", ")"), OFF),),
        ),
        (
            'if ($remote_addr ~ "^10[.](?:20|21)[.]") { set $jarvis_maintenance off; }',
            ((("if", "($remote_addr", "~", "^10[.](?:20|21)[.]", ")"), OFF),),
        ),
        ('return 200 \'{"a":"b"}\';', ((("return", "200", '{"a":"b"}'), None),)),
        ('add_header X "a \\" b";', ((("add_header", "X", 'a " b'), None),)),
        (
            "location @m {\n    root /x;\n    rewrite ^ /p.html break;\n}\n",
            ((("location", "@m"), ((("root", "/x"), None), (("rewrite", "^", "/p.html", "break"), None))),),
        ),
        ("", ()),
    ],
)
def test_nginx_directives(text, directives):
    assert nginx_directives(text) == directives


def test_the_reported_attack_parses_to_more_directives():
    text = f'if ($remote_addr = "{ATTACK}") {{ set $jarvis_maintenance off; }}\n'
    parsed = nginx_directives(text)
    assert len(parsed) == 3
    assert parsed[1] == (("set", "$jarvis_maintenance", "off"), None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('set $a "on;', 'unterminated " string'),
        ("set $a on", "unexpected end of file"),
        ("location / { root /x;", "unexpected end of file"),
        ("}", "unexpected '}'"),
        ("set $a on; }", "unexpected '}'"),
        (";", "unexpected ';'"),
        ("{ }", "unexpected '{'"),
        ('set $a "on"x;', "unexpected 'x' after a quoted string"),
    ],
)
def test_nginx_directives_refuses(text, problem):
    with pytest.raises(ConfigValueError, match=re.escape(problem)):
        nginx_directives(text)


def test_expand_sentinels_and_first_difference():
    skeleton = nginx_directives("set $a V1;\nP1;\nlocation = /x { root V2; }\n")
    expected = expand_sentinels(skeleton, {"V1": "on", "V2": "/srv"}, {"P1": ((("if", "(x", ")"), OFF),)})
    assert expected == (
        (("set", "$a", "on"), None),
        (("if", "(x", ")"), OFF),
        (("location", "=", "/x"), ((("root", "/srv"), None),)),
    )
    assert first_difference(expected, expected) is None
    found = nginx_directives("set $a on;\nif (x ) { set $jarvis_maintenance off; }\nlocation = /x { root /srv /y; }\n")
    assert first_difference(expected, found) == "expected 'root /srv;', found 'root /srv /y;'"
    assert first_difference(expected, expected[:1]) == "expected 'if (x ) {', found '(nothing)'"
