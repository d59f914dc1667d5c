# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Redis connection options and client, shared by every Redis module.

Option names follow community.general's Redis modules; they are documented in
doc_fragments/redis.py.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.basic import env_fallback

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._deps import need
from ansible_collections.jarvis.maintenance.plugins.module_utils._common._errors import ModuleError, raise_problem


def redis_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection options; merge into a module's own argument_spec."""
    return {
        "login_host": {"type": "str", "default": "localhost"},
        "login_port": {"type": "int", "default": 6379},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["REDISCLI_AUTH"])},
        "db": {"type": "int", "default": 0},
        "tls": {"type": "bool", "default": False},
        "validate_certs": {"type": "bool", "default": True},
        "ca_certs": {"type": "path"},
        "connect_timeout": {"type": "float", "default": 5},
        "socket_timeout": {"type": "float", "default": 30},
    }


def client_kwargs(params: dict[str, Any], decode_responses: bool = True) -> dict[str, Any]:
    """redis.Redis() keyword arguments from module parameters (pure, no I/O).

    decode_responses=False gives a client that returns bytes: key names are bytes, not
    necessarily UTF-8, and only such a client can walk and delete any key.
    """
    kwargs: dict[str, Any] = {
        "host": params.get("login_host") or "localhost",
        "port": params.get("login_port") or 6379,
        "db": params.get("db") or 0,
        "socket_connect_timeout": params.get("connect_timeout", 5),
        "socket_timeout": params.get("socket_timeout", 30),
        "decode_responses": decode_responses,
        "client_name": "jarvis.maintenance",
    }
    if params.get("login_user"):
        kwargs["username"] = params["login_user"]
    if params.get("login_password"):
        kwargs["password"] = params["login_password"]
    if params.get("tls"):
        kwargs["ssl"] = True
        kwargs["ssl_cert_reqs"] = "required" if params.get("validate_certs", True) else "none"
        if params.get("ca_certs"):
            kwargs["ssl_ca_certs"] = params["ca_certs"]
    return kwargs


def describe_target(params: dict[str, Any]) -> str:
    scheme = "rediss" if params.get("tls") else "redis"
    host = params.get("login_host") or "localhost"
    return f"{scheme}://{host}:{params.get('login_port') or 6379}/{params.get('db') or 0}"


def validate_connection_params(params: dict[str, Any]) -> str | None:
    """Why the connection options cannot work, or None. Names the parameter."""
    port = params.get("login_port")
    if port is not None and not 0 < port < 65536:
        return f"login_port must be between 1 and 65535, got {port}"
    if params.get("db", 0) < 0:
        return f"db must be 0 or more, got {params['db']}"
    for name in ("connect_timeout", "socket_timeout"):
        if params.get(name) is not None and not 0 < params[name] <= 86400:
            return f"{name} must be a number of seconds above 0 and at most 86400, got {params[name]}"
    return None


# What the server (or redis-py on its behalf) says when a password is missing or refused.
# RESP3 clients hear "HELLO must be called with the client already authenticated ...",
# RESP2 clients "NOAUTH Authentication required." (redis-py strips the NOAUTH / WRONGPASS).
_NEEDS_PASSWORD = ("noauth", "authentication required", "hello must be called with the client already authenticated")
_REFUSED = ("wrongpass", "invalid username-password pair", "invalid password")


def explain_error(error_type: str, message: str, params: dict[str, Any]) -> str:
    """A Redis error as a cause that says what to do (pure).

    Authentication and ACL errors name the parameter to set or fix; the password itself is
    never part of the text. Any other error is returned as the server said it.
    """
    text = message.lower()
    user = params.get("login_user")
    if error_type in ("AuthenticationError", "AuthenticationWrongNumberOfArgsError") or any(
        marker in text for marker in _NEEDS_PASSWORD + _REFUSED
    ):
        if not params.get("login_password"):
            who = f"; login_user {user!r} needs its password" if user else ""
            return f"the server requires a password; set login_password (or REDISCLI_AUTH){who}"
        who = f" for login_user {user!r}" if user else ""
        return f"login_password was refused{who} ({message.strip().rstrip('.')}); check login_password and login_user"
    if error_type == "NoPermissionError" or text.startswith("noperm"):
        who = repr(user) if user else "default"
        return f"the ACL user {who} (login_user) is not allowed to do this: {message.strip()}"
    return message


def describe_error(exc: BaseException, params: dict[str, Any]) -> str:
    """explain_error() of an exception raised by redis-py."""
    return explain_error(type(exc).__name__, str(exc), params)


def connect(params: dict[str, Any], decode_responses: bool = True) -> Any:
    """A connected redis.Redis client (INFO answered), or ModuleError.

    decode_responses=False: a client that returns bytes (see client_kwargs()).
    """
    redis = need("redis")
    raise_problem("Cannot connect to Redis", validate_connection_params(params))
    backoff = need("redis.backoff")
    retry = need("redis.retry")
    # Two quick retries: ride out a blip, but fail fast (not after redis-py's default
    # backoff of seconds) when the server is down.
    client = redis.Redis(
        **client_kwargs(params, decode_responses),
        retry=retry.Retry(backoff.ExponentialBackoff(cap=0.5, base=0.1), 2),
    )
    try:
        # INFO, not PING: a server that refuses writes after a failed save (MISCONF)
        # refuses PING too, and maintenance must still reach it to report and fix that.
        client.info("server")
    except redis.RedisError as exc:
        raise ModuleError(
            f"Cannot connect to Redis at {describe_target(params)}: {describe_error(exc, params)}"
        ) from exc
    return client
