"""Load keys that are not UTF-8, interleaved with UTF-8 ones, for the delete_keys tests.

    load_mixed_keys.py HOST PORT DB
The password comes from REDISCLI_AUTH. Prints DBSIZE.

Matching "mixed:*" (300 keys, written in turn so that SCAN batches mix them):
    mixed:\xff\xfe:N (not UTF-8), mixed:café:N (UTF-8), mixed:ctl\n\x1b[31m:N (control characters)
Not matching (500 keys, must stay): keep:\xff\xfe:N
"""

from __future__ import annotations

import os
import sys

import redis


def main() -> None:
    host, port, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = redis.Redis(host=host, port=port, db=db, password=os.environ.get("REDISCLI_AUTH"))
    client.flushdb()
    pipe = client.pipeline(transaction=False)
    for number in range(100):
        pipe.set(b"mixed:\xff\xfe:%d" % number, b"x")
        pipe.set(f"mixed:café:{number}", b"x")
        pipe.set(b"mixed:ctl\n\x1b[31m:%d" % number, b"x")
    for number in range(500):
        pipe.set(b"keep:\xff\xfe:%d" % number, b"x")
    pipe.execute()
    print(client.dbsize())


if __name__ == "__main__":
    main()
