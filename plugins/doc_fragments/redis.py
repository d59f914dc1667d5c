# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Connection options and action group of every module that talks to Redis, named as in
    # community.general's Redis modules. The matching argument spec is
    # redis_argument_spec() in module_utils/_redis/_client.py.
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/jarvis.maintenance.redis) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - jarvis.maintenance.redis
options:
  login_host:
    description:
      - Host name or IP address of the Redis server.
    type: str
    default: localhost
  login_port:
    description:
      - TCP port of the Redis server.
    type: int
    default: 6379
  login_user:
    description:
      - ACL user name (Redis 6 and newer). Leave unset to authenticate with O(login_password) alone.
    type: str
  login_password:
    description:
      - Password (C(requirepass) or the ACL user's). Defaults to E(REDISCLI_AUTH). Never logged or returned.
      - When the server wants a password and none is set, or refuses the one given, the module fails with a message
        that names O(login_password) and E(REDISCLI_AUTH), not with the client library's C(NOAUTH) or
        C(HELLO must be called ...).
    type: str
  db:
    description:
      - Database number to select.
    type: int
    default: 0
  tls:
    description:
      - Connect over TLS.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the server's TLS certificate. Only set to V(false) on trusted networks.
    type: bool
    default: true
  ca_certs:
    description:
      - CA certificate bundle to verify the server's certificate with.
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection (above 0, at most V(86400)).
    type: float
    default: 5
  socket_timeout:
    description:
      - Seconds to wait for any one reply before giving up (above 0, at most V(86400)).
    type: float
    default: 30
requirements:
  - redis (the Python client) on the host the module runs on.
"""
