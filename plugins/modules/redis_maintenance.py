#!/usr/bin/python
# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_maintenance
short_description: Check Redis memory and persistence, delete keys by pattern safely, save and rewrite the AOF
version_added: 1.0.0
description:
  - Always returns C(info) (memory, persistence, clients, keyspace, stats), the C(MEMORY DOCTOR) and
    C(LATENCY DOCTOR) texts when the server allows them, and findings for fragmentation, memory against
    C(maxmemory), evictions, rejected connections and failed saves, rewrites and AOF writes.
  - Replaces the runbook's C(redis-cli --scan | xargs redis-cli del) (one DEL of thousands of keys blocks the
    server), C(BGSAVE) followed by C(sleep 10), and unconditional C(BGREWRITEAOF) and C(MEMORY PURGE).
  - Actions run in the order given. C(changed) is true only when an action did something (in check mode, would
    do something). A failing action fails the module with the action and the server's reason.
extends_documentation_fragment: [jarvis.maintenance.redis, jarvis.maintenance.attributes, jarvis.maintenance.thresholds]
attributes:
  check_mode:
    details:
      - V(delete_keys) walks and counts the matching keys and deletes none; the other actions return what they would run.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - V(delete_keys) is idempotent (nothing matches the second time); V(save), V(rewrite_aof), V(purge_memory)
        and V(reset_stats) do their work each time they are asked.
options:
  actions:
    description:
      - V(delete_keys) deletes the keys matching O(delete_pattern) with one uninterrupted SCAN walk and C(UNLINK)
        in batches of O(delete_batch_size) keys; a key is deleted only if it matches, and counted once.
      - V(save) runs C(BGSAVE) (C(BGSAVE SCHEDULE) while an AOF rewrite runs), waits until C(LASTSAVE) moves and
        no save is in progress, and checks C(rdb_last_bgsave_status).
      - V(rewrite_aof) waits out a rewrite already running, runs C(BGREWRITEAOF), waits for it and checks
        C(aof_last_bgrewrite_status).
      - V(purge_memory) runs C(MEMORY PURGE), only with the jemalloc allocator (otherwise an V(ok) finding says why).
      - V(reset_stats) runs C(CONFIG RESETSTAT) and returns the stats from before.
    type: list
    elements: str
    choices: [delete_keys, save, rewrite_aof, purge_memory, reset_stats]
    default: []
  delete_pattern:
    description:
      - Glob pattern of the keys V(delete_keys) deletes (Redis C(MATCH) syntax), for example V(*expired*).
      - Required with V(delete_keys). A pattern needs a literal part, at least one character outside C(*), C(?)
        and C([...]) (a backslash-escaped one counts). V(*), V(?*), V(*?), V([a-z]*) and V(*[a-z]*) can match every
        key and are refused.
      - Key names are bytes and need not be UTF-8; the pattern is matched against them as UTF-8 bytes.
    type: str
  delete_max_share:
    description:
      - Refuse a V(delete_keys) whose pattern matches more than this percentage of the database's keys (C(DBSIZE)),
        counted by a first SCAN walk that deletes nothing; the refusal names the count and C(DBSIZE). The delete
        itself also stops at this share (C(stopped_by=delete_max_share)), should keys be written meanwhile.
      - Above 0 and at most 100. Ignored with O(allow_mass_delete).
    type: float
    default: 50
  allow_mass_delete:
    description:
      - Delete even when the pattern matches more than O(delete_max_share) percent of the keys, without the counting walk.
    type: bool
    default: false
  delete_batch_size:
    description: SCAN C(COUNT) hint and the most keys per C(UNLINK). Between 1 and 10000.
    type: int
    default: 250
  delete_max_keys:
    description: Stop after deleting this many keys.
    type: int
  delete_max_seconds:
    description: Stop after this many seconds.
    type: float
  delete_rate_limit:
    description: Delete at most this many keys per second.
    type: float
  wait_timeout:
    description: Seconds to wait for V(save) and V(rewrite_aof) (and for a save or rewrite already running).
    type: float
    default: 300
  rdb_path:
    description: Path of the RDB file, for servers where C(CONFIG GET dir) is not allowed. Used to return its size.
    type: path
  thresholds:
    suboptions:
      fragmentation_ratio_warning: {type: float, default: 1.5, description: "C(mem_fragmentation_ratio) (RSS / used memory) that is a warning."}
      fragmentation_ratio_critical: {type: float, default: 2.0, description: "C(mem_fragmentation_ratio) that is critical."}
      fragmentation_min_bytes: {type: float, default: 104857600, description: "Fragmentation is not judged while RSS is below this (a nearly empty
          server has a high ratio)."}
      maxmemory_percent_warning: {type: float, default: 80, description: "Used memory as a percentage of C(maxmemory), when it is set, that is a
          warning."}
      maxmemory_percent_critical: {type: float, default: 95, description: "Used memory as a percentage of C(maxmemory) that is critical."}
      evicted_keys_warning: {type: float, default: 1, description: "Keys evicted since the last stats reset that is a warning."}
      evicted_keys_critical: {type: float, default: 10000, description: "Keys evicted since the last stats reset that is critical."}
      rejected_connections_warning: {type: float, default: 1, description: "Connections rejected (maxclients reached) since the last stats reset that
          is a warning."}
      rejected_connections_critical: {type: float, default: 100, description: "Connections rejected since the last stats reset that is critical."}
seealso:
  - module: community.general.redis_info
"""

EXAMPLES = r"""
- name: Delete the runbook's expired keys, at most 100,000 per run
  jarvis.maintenance.redis_maintenance:
    login_host: 127.0.0.1
    login_password: "{{ vault_redis_password }}"
    actions: [delete_keys]
    delete_pattern: "*expired*"
    delete_max_keys: 100000

- name: Save a snapshot before a backup, waiting until it is on disk
  jarvis.maintenance.redis_maintenance:
    actions: [save]
    wait_timeout: 600
  register: saved

- name: Weekly - compact the AOF and give memory back to the system
  jarvis.maintenance.redis_maintenance:
    actions: [rewrite_aof, purge_memory]
"""

RETURN = r"""
info:
  description: C(memory), C(persistence), C(clients), C(keyspace), C(stats) and C(server) from C(INFO).
  returned: success
  type: dict
  sample: {memory: {used_bytes: 1048576, fragmentation_ratio: 1.2, allocator: jemalloc-5.3.0}}
doctor:
  description: C(memory) and C(latency) doctor texts, V(null) when the server refuses them.
  returned: success
  type: dict
  sample: {memory: "Hi Sam, this instance is empty...", latency: null}
findings:
  description: Findings with C(check), C(severity), C(subject), C(value), C(threshold), C(message) and C(recommendation).
  returned: success
  type: list
  elements: dict
  sample:
    - {check: last_save, severity: ok, subject: redis, value: ok, threshold: ok, message: The last BGSAVE is ok, recommendation: ""}
severity:
  description: The worst severity among the findings.
  returned: success
  type: str
  sample: ok
actions:
  description:
    - What each action did. V(delete_keys) returns C(scanned_keys), C(matched_keys), C(deleted_keys) (and in check mode
      C(would_delete_keys)), C(sample_keys), C(seconds) and C(stopped_by) (V(null), V(max_keys), V(max_seconds) or
      V(delete_max_share)).
    - C(sample_keys) are up to 10 of the matched keys in a printable form, UTF-8 as is and anything else escaped
      (C(\xff), C(\n), a backslash doubled).
    - When an action fails, the failure returns C(actions) too. A V(delete_keys) that fails half-way says in its
      message and in C(deleted_keys) how many keys are gone (and C(unconfirmed_keys), a batch in flight whose fate is
      unknown); a refusal under O(delete_max_share) returns C(matched_keys), C(dbsize) and C(deleted_keys=0).
    - V(save) returns C(rdb_path), C(rdb_bytes), C(seconds) and C(lastsave); V(rewrite_aof) C(seconds) and C(status);
      V(reset_stats) C(stats_before).
  returned: success, and when an action fails
  type: dict
  sample: {delete_keys: {scanned_keys: 300412, matched_keys: 300000, deleted_keys: 300000, seconds: 1.9, stopped_by: null,
                        sample_keys: ["session:expired:17", "session:expired:\\xff\\xfe"]}}
"""

from ansible_collections.jarvis.maintenance.plugins.module_utils._common._runner import run_module
from ansible_collections.jarvis.maintenance.plugins.module_utils._redis._maintenance import (
    ARGUMENT_SPEC,
    RedisMaintenance,
)


def main() -> None:
    run_module(ARGUMENT_SPEC, RedisMaintenance)


if __name__ == "__main__":
    main()
