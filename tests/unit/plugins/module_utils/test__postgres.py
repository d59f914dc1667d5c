# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.jarvis.maintenance.plugins.module_utils._postgres._client import (
    connection_kwargs,
    describe_target,
    postgres_argument_spec,
    validate_connection_params,
)


def params(**overrides):
    values = {name: spec.get("default") for name, spec in postgres_argument_spec().items()}
    values.update(overrides)
    return values


def test_defaults_leave_host_port_and_password_to_libpq():
    kwargs = connection_kwargs(params())
    assert kwargs == {
        "dbname": "postgres",
        "user": "postgres",
        "connect_timeout": 10,
        "sslmode": "prefer",
        "application_name": "jarvis.maintenance",
    }


def test_unix_socket_wins_over_host():
    kwargs = connection_kwargs(params(login_host="db.example", login_unix_socket="/run/postgresql", login_port=5433))
    assert kwargs["host"] == "/run/postgresql"
    assert kwargs["port"] == 5433


def test_database_argument_overrides_login_db():
    assert connection_kwargs(params(login_db="jarvis"))["dbname"] == "jarvis"
    assert connection_kwargs(params(login_db="jarvis"), database="other")["dbname"] == "other"


def test_password_and_ca_cert_are_passed():
    kwargs = connection_kwargs(params(login_password="s3cret", ssl_mode="verify-full", ca_cert="/ca.pem"))
    assert kwargs["password"] == "s3cret"
    assert kwargs["sslrootcert"] == "/ca.pem"
    assert kwargs["sslmode"] == "verify-full"


def test_describe_target_never_shows_the_password():
    text = describe_target(params(login_host="db1", login_port=6432, login_user="jarvis", login_password="s3cret"))
    assert text == "db1:6432 as jarvis"
    assert "s3cret" not in text


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"login_port": 70000}, "login_port must be between 1 and 65535, got 70000"),
        ({"connect_timeout": 0}, "connect_timeout must be a positive number of seconds, got 0"),
        ({"ssl_mode": "verify-ca"}, "ca_cert is required with ssl_mode=verify-ca"),
        ({"ssl_mode": "verify-ca", "ca_cert": "/ca.pem"}, None),
    ],
)
def test_validate_connection_params(overrides, problem):
    assert validate_connection_params(params(**overrides)) == problem


def test_env_fallbacks_fill_unset_options(monkeypatch):
    monkeypatch.setenv("PGHOST", "envhost")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGPASSWORD", "fromenv")
    result = ArgumentSpecValidator(postgres_argument_spec()).validate({})
    assert result.error_messages == []
    assert result.validated_parameters["login_host"] == "envhost"
    assert result.validated_parameters["login_port"] == 6543
    assert result.validated_parameters["login_password"] == "fromenv"


def test_password_is_no_log():
    assert postgres_argument_spec()["login_password"]["no_log"] is True
