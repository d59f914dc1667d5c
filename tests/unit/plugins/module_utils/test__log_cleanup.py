# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.jarvis.maintenance.plugins.module_utils._log_cleanup import (
    argument_spec,
    check_params,
    inside,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("2048", 2048), ("1k", 1024), ("100M", 100 * 1024**2), ("1.5G", int(1.5 * 1024**3)), ("2 MiB", 2 * 1024**2)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "", "-1M", "10X"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/opt/app/logs", True),
        ("/opt/app/logs/a.log", True),
        ("/opt/app/logs/sub/b.log", True),
        ("/opt/app/logs2/a.log", False),  # a sibling that shares the prefix is outside
        ("/opt/app", False),
        ("/tmp/x", True),
    ],
)
def test_inside(path, expected):
    assert inside(path, ["/opt/app/logs", "/tmp"]) is expected


def params(**overrides):
    values = {name: spec.get("default") for name, spec in argument_spec().items()}
    values.update(roots=["/opt/app/logs"])
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"temp_patterns": ["/tmp/*jarvis*"]}, None),
        ({"roots": []}, "roots must name at least one directory"),
        ({"roots": ["/"]}, "roots entry '/' is the whole filesystem"),
        ({"roots": ["/opt/app/logs/../../.."]}, "is the whole filesystem"),
        ({"roots": ["logs"]}, "roots entry 'logs' must be an absolute path"),
        ({"compress_min_size": "big"}, "compress_min_size: 'big' is not a size"),
        ({"max_age_days": -1}, "max_age_days must be 0 or more"),
        ({"temp_max_age_hours": -2}, "temp_max_age_hours must be 0 or more"),
        ({"delete_patterns": ["old/*.gz"]}, "delete_patterns entry 'old/*.gz' must be a file name pattern"),
        ({"compress_patterns": [".."]}, "compress_patterns entry '..' must be a file name pattern"),
        ({"temp_patterns": ["jarvis-*"]}, "temp_patterns entry 'jarvis-*' must be an absolute path pattern"),
        ({"temp_patterns": ["/tmp/*/x"]}, "only the file name may hold"),
    ],
)
def test_check_params(overrides, problem):
    found = check_params(params(**overrides))
    assert (found is None) if problem is None else problem in found
