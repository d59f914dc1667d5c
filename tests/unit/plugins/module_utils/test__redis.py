# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.jarvis.maintenance.plugins.module_utils._redis import (
    client_kwargs,
    describe_target,
    redis_argument_spec,
    validate_connection_params,
)


def params(**overrides):
    values = {name: spec.get("default") for name, spec in redis_argument_spec().items()}
    values.update(overrides)
    return values


def test_defaults():
    kwargs = client_kwargs(params())
    assert kwargs["host"] == "localhost"
    assert kwargs["port"] == 6379
    assert kwargs["db"] == 0
    assert "password" not in kwargs
    assert "ssl" not in kwargs


def test_acl_user_and_password():
    kwargs = client_kwargs(params(login_user="maint", login_password="s3cret"))
    assert (kwargs["username"], kwargs["password"]) == ("maint", "s3cret")


@pytest.mark.parametrize(
    ("validate_certs", "cert_reqs"),
    [(True, "required"), (False, "none")],
)
def test_tls_options(validate_certs, cert_reqs):
    kwargs = client_kwargs(params(tls=True, validate_certs=validate_certs, ca_certs="/ca.pem"))
    assert kwargs["ssl"] is True
    assert kwargs["ssl_cert_reqs"] == cert_reqs
    assert kwargs["ssl_ca_certs"] == "/ca.pem"


def test_describe_target():
    assert describe_target(params(login_host="cache", login_port=6380, db=2)) == "redis://cache:6380/2"
    assert describe_target(params(tls=True)) == "rediss://localhost:6379/0"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"login_port": 0}, "login_port must be between 1 and 65535, got 0"),
        ({"db": -1}, "db must be 0 or more, got -1"),
        ({"socket_timeout": 0}, "socket_timeout must be a positive number of seconds, got 0"),
    ],
)
def test_validate_connection_params(overrides, problem):
    assert validate_connection_params(params(**overrides)) == problem


def test_rediscli_auth_is_the_password_fallback(monkeypatch):
    monkeypatch.setenv("REDISCLI_AUTH", "fromenv")
    result = ArgumentSpecValidator(redis_argument_spec()).validate({})
    assert result.error_messages == []
    assert result.validated_parameters["login_password"] == "fromenv"
    assert redis_argument_spec()["login_password"]["no_log"] is True
