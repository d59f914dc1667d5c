# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.jarvis.maintenance.plugins.module_utils._redis._client import (
    client_kwargs,
    describe_target,
    explain_error,
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


def test_a_bytes_client_for_key_names():
    assert client_kwargs(params())["decode_responses"] is True
    assert client_kwargs(params(), decode_responses=False)["decode_responses"] is False


HELLO = (
    "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> "
    "option can be used to authenticate the client and select the RESP protocol version at the same time"
)
NEEDS = "the server requires a password; set login_password (or REDISCLI_AUTH)"


@pytest.mark.parametrize(
    ("error_type", "message", "overrides", "cause"),
    [
        # what redis-py 8 raises against a server with requirepass (RESP3, then RESP2)
        ("AuthenticationError", HELLO, {}, NEEDS),
        ("AuthenticationError", "Authentication required.", {}, NEEDS),
        ("ResponseError", "NOAUTH Authentication required.", {}, NEEDS),
        ("AuthenticationError", "Authentication required.", {"login_password": ""}, NEEDS),
        (
            "AuthenticationError",
            "invalid username-password pair or user is disabled.",
            {"login_user": "maint"},
            NEEDS + "; login_user 'maint' needs its password",
        ),
        (
            "AuthenticationError",
            "invalid username-password pair or user is disabled.",
            {"login_password": "s3cret-pw"},
            "login_password was refused (invalid username-password pair or user is disabled); "
            "check login_password and login_user",
        ),
        (
            "ResponseError",
            "WRONGPASS invalid username-password pair or user is disabled.",
            {"login_password": "s3cret-pw", "login_user": "maint"},
            "login_password was refused for login_user 'maint' "
            "(WRONGPASS invalid username-password pair or user is disabled); check login_password and login_user",
        ),
        (
            "ResponseError",
            "ERR invalid password",
            {"login_password": "s3cret-pw"},
            "login_password was refused (ERR invalid password); check login_password and login_user",
        ),
        (
            "NoPermissionError",
            "this user has no permissions to run the 'scan' command",
            {"login_user": "maint", "login_password": "pw"},
            "the ACL user 'maint' (login_user) is not allowed to do this: "
            "this user has no permissions to run the 'scan' command",
        ),
        (
            "ResponseError",
            "NOPERM No permissions to access a key",
            {"login_password": "pw"},
            "the ACL user default (login_user) is not allowed to do this: NOPERM No permissions to access a key",
        ),
        ("ConnectionError", "Error 111 connecting to 127.0.0.1:9. Connection refused.", {}, None),
        ("ResponseError", "MISCONF Redis is configured to save RDB snapshots", {}, None),
    ],
)
def test_explain_error_says_what_to_do(error_type, message, overrides, cause):
    explained = explain_error(error_type, message, params(**overrides))
    assert explained == (message if cause is None else cause)
    assert "s3cret-pw" not in explained


def test_describe_target():
    assert describe_target(params(login_host="cache", login_port=6380, db=2)) == "redis://cache:6380/2"
    assert describe_target(params(tls=True)) == "rediss://localhost:6379/0"


SECONDS = "a number of seconds above 0 and at most 86400"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"login_port": 0}, "login_port must be between 1 and 65535, got 0"),
        ({"db": -1}, "db must be 0 or more, got -1"),
        ({"socket_timeout": 0}, "socket_timeout must be a number of seconds above 0 and at most 86400, got 0"),
        ({"connect_timeout": float("nan")}, f"connect_timeout must be {SECONDS}, got nan"),
        ({"connect_timeout": float("inf")}, f"connect_timeout must be {SECONDS}, got inf"),
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
