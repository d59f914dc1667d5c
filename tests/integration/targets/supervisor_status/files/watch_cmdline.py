# Copyright (c) Jarvis operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What any user sees in ps: the command lines of supervisorctl processes, read from /proc until told to stop.

Run as an unprivileged user (runuser -u nobody). Writes each distinct command line that holds
`--match` to `--out`, one per line, then `<out>.done`; `<out>.ready` once it watches.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--match", default="supervisorctl")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    seen: set[str] = set()
    deadline = time.monotonic() + args.timeout
    with open(args.out + ".ready", "w", encoding="utf-8"):
        pass
    while not os.path.exists(args.stop) and time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    line = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                continue
            if args.match in line and "watch_cmdline" not in line:
                seen.add(line)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in sorted(seen))
    with open(args.out + ".done", "w", encoding="utf-8"):
        pass


if __name__ == "__main__":
    main()
