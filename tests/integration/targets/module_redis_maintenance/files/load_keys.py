"""Load the test keyspace: 300,000 keys matching *expired* among 1,000,000, with look-alikes.

    load_keys.py HOST PORT DB
The password comes from REDISCLI_AUTH.
"""

from __future__ import annotations

import os
import sys

import redis


def main() -> None:
    host, port, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = redis.Redis(host=host, port=port, db=db, password=os.environ.get("REDISCLI_AUTH"))
    client.flushdb()
    groups = [
        ("session:expired:{}", 300000),  # must go
        ("EXPIRED:{}", 50000),  # other case: must stay
        ("expire:{}", 50000),  # look-alike: must stay
        ("session:active:{}", 600000),  # must stay
    ]
    pipe = client.pipeline(transaction=False)
    for template, count in groups:
        for number in range(count):
            pipe.set(template.format(number), b"x")
            if number % 10000 == 9999:
                pipe.execute()
    pipe.execute()
    print(client.dbsize())


if __name__ == "__main__":
    main()
