"""Realistic data for the benchmarks: chat messages and JSON documents that compress like real data.

pgbench's tables are mostly blank filler (its dump gzips about 35x), which flatters every
compressor and makes anything that compresses look fast. Real application data (the chat
messages and JSON documents Jarvis stores) gzips 2-4x. This module makes such data:

- ``messages`` (chat): a conversation id, a sender, a timestamp, a role and a body of 5 to 60
  words drawn from a fixed vocabulary of made-up words with a Zipf-like frequency (a few
  words are common, most are rare, as in text), with numbers, amounts and ids mixed in;
- ``documents``: a ``jsonb`` payload per row (a user, tags, scores, a nested list of items with
  prices and quantities, a summary sentence), the shape of the API payloads the backend keeps.

Everything comes from ``random.Random(seed)``: the same seed and size give the same rows.
``create_database`` loads about ``target_bytes`` of it (as PostgreSQL counts the database's
size) with ``psql \\copy`` streamed from this process; ``gzip_ratio`` measures how well a sample
of it compresses with gzip -6 (the ``gzip`` default the runbook uses).

    from _data import create_database, gzip_ratio
    create_database(env, "jarvis_bench_realistic", 1 << 30)   # env: os.environ with PGHOST etc.

Used by benchmarks/pitr.py (and meant for pg_backup on realistic data, issue 26).
"""

from __future__ import annotations

import datetime
import itertools
import json
import random
import subprocess
import zlib
from typing import Iterator, Mapping

SCHEMA = """
CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    conversation_id integer NOT NULL,
    sender text NOT NULL,
    role text NOT NULL,
    sent_at timestamptz NOT NULL,
    body text NOT NULL
);
CREATE TABLE documents (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    payload jsonb NOT NULL
);
"""
INDEXES = """
CREATE INDEX messages_conversation ON messages (conversation_id, sent_at);
CREATE INDEX documents_kind ON documents (kind, created_at);
"""
SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "nu",
    "re",
    "sa",
    "ti",
    "vo",
    "xe",
    "ba",
    "de",
    "fi",
    "go",
    "hu",
    "ja",
    "ke",
    "li",
    "mo",
    "na",
    "pe",
    "qu",
    "ri",
    "so",
    "tu",
    "ve",
    "wa",
    "yo",
    "ze",
)
ROLES = ("user", "assistant", "system")
KINDS = ("chat_summary", "user_profile", "order", "event", "settings", "feedback")
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
# Table bytes on disk per byte of COPY text, measured (tuples, headers, TOAST, two btree indexes each).
DISK_PER_COPY_BYTE = 1.25


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """Made-up words of 1 to 4 syllables, distinct."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _syllable in range(rng.randint(1, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)  # the common words (low ranks) are not all alike
    return ordered


class Generator:
    """Rows of ``messages`` and ``documents`` as COPY text lines, from one seeded random source."""

    def __init__(self, seed: int = 26) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        # Zipf-like: the word of rank r is drawn with weight 1 / r
        self.cumulative = list(itertools.accumulate(1.0 / rank for rank in range(1, len(self.words) + 1)))
        self.users = [f"{self.rng.choice(self.words)}.{self.rng.choice(self.words)}" for _user in range(5000)]

    def sentence(self, low: int, high: int) -> str:
        rng = self.rng
        count = rng.randint(low, high)
        words = rng.choices(self.words, cum_weights=self.cumulative, k=count)
        # about one token in eight is a number, an amount or an id
        for _token in range(count // 8):
            kind = rng.random()
            if kind < 0.4:
                token = str(rng.randint(0, 9999))
            elif kind < 0.7:
                token = f"{rng.uniform(0, 5000):.2f}"
            else:
                token = f"#{rng.getrandbits(40):x}"
            words[rng.randrange(count)] = token
        return " ".join(words)

    def message(self, row: int) -> str:
        rng = self.rng
        sent = START + datetime.timedelta(seconds=row * 3 + rng.randint(0, 2), microseconds=rng.randint(0, 999999))
        fields = (
            str(row // 40 + rng.randint(0, 3)),
            rng.choice(self.users),
            ROLES[0 if rng.random() < 0.5 else (1 if rng.random() < 0.95 else 2)],
            sent.isoformat(),
            self.sentence(5, 60),
        )
        return "\t".join(fields) + "\n"

    def document(self, row: int) -> str:
        rng = self.rng
        created = START + datetime.timedelta(seconds=row * 7 + rng.randint(0, 6))
        payload = {
            "user": rng.choice(self.users),
            "tags": rng.sample(self.words[:300], rng.randint(1, 5)),
            "score": round(rng.random() * 100, 3),
            "active": rng.random() < 0.8,
            "items": [
                {
                    "sku": f"{rng.choice(self.words).upper()}-{rng.randint(100, 99999)}",
                    "qty": rng.randint(1, 20),
                    "price": round(rng.uniform(1, 900), 2),
                }
                for _tag in range(rng.randint(0, 6))
            ],
            "summary": self.sentence(4, 30),
        }
        text = json.dumps(payload, separators=(", ", ": "))
        # COPY text format: a backslash is the escape character
        fields = (rng.choice(KINDS), created.isoformat(), text.replace("\\", "\\\\"))
        return "\t".join(fields) + "\n"

    def lines(self, table: str, copy_bytes: int) -> Iterator[str]:
        """COPY lines of one table until about copy_bytes have been made."""
        make = self.message if table == "messages" else self.document
        made = 0
        for row in itertools.count():
            line = make(row)
            made += len(line)
            yield line
            if made >= copy_bytes:
                return


def gzip_ratio(sample_bytes: int = 8 << 20, seed: int = 26) -> float:
    """Uncompressed / gzip -6 size of a sample of both tables' COPY text (half each)."""
    generator = Generator(seed)
    raw = "".join(
        itertools.chain(generator.lines("messages", sample_bytes // 2), generator.lines("documents", sample_bytes // 2))
    ).encode()
    return len(raw) / len(zlib.compress(raw, 6))


def copy(env: Mapping[str, str], database: str, table: str, lines: Iterator[str]) -> None:
    """``\\copy table FROM STDIN`` through psql, fed in chunks of about 1 MB."""
    columns = "(conversation_id, sender, role, sent_at, body)" if table == "messages" else "(kind, created_at, payload)"
    command = [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        database,
        "-c",
        f"\\copy {table} {columns} FROM STDIN",
    ]
    process = subprocess.Popen(command, env=dict(env), stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    chunk: list[str] = []
    size = 0
    try:
        for line in lines:
            chunk.append(line)
            size += len(line)
            if size >= 1 << 20:
                process.stdin.write("".join(chunk).encode())
                chunk, size = [], 0
        process.stdin.write("".join(chunk).encode())
    except BrokenPipeError:
        pass  # psql stopped reading: its error follows
    _out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"psql \\copy {table} exited {process.returncode}: {err.decode()[-500:]}")


def create_database(env: Mapping[str, str], database: str, target_bytes: int, seed: int = 26) -> None:
    """Creates ``database`` (dropped first if it exists) holding about target_bytes of messages and
    documents, half each, with their indexes, analyzed. env: the libpq environment (PGHOST, PGPORT,
    PGUSER) with the cluster's psql first on PATH."""

    def sql(db: str, statement: str) -> None:
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", statement],
            env=dict(env),
            check=True,
            capture_output=True,
        )

    sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    sql("postgres", f'CREATE DATABASE "{database}"')
    sql(database, SCHEMA)
    generator = Generator(seed)
    per_table = int(target_bytes / DISK_PER_COPY_BYTE / 2)
    for table in ("messages", "documents"):
        copy(env, database, table, generator.lines(table, per_table))
    sql(database, INDEXES)
    sql(database, "VACUUM ANALYZE")
