"""A small stand-in for the Jarvis FastAPI backend, for the local stack.

GET /health      200 when PostgreSQL and Redis answer, 503 naming the one that does not
POST /simple-chat {"message": "..."} -> {"response": "Echo: ...", "model": "jarvis-echo"}

Connection settings come from JARVIS_PG_* and JARVIS_REDIS_* environment variables
(supervisord sets them). Errors never include passwords.

Fault injection for tests: when $JARVIS_FAULT_DIR/backend-unhealthy-once exists as the backend
starts, it removes the file and answers /health with 503 for as long as this process runs (a
broken release that the next restart, after a rollback, no longer has).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

VERSION = "0.1.0-local"
FAULT_FILE = "backend-unhealthy-once"


def take_fault() -> str | None:
    """The injected fault of this process, if one was armed (the file is consumed)."""
    path = os.path.join(os.environ.get("JARVIS_FAULT_DIR", ""), FAULT_FILE)
    if not os.environ.get("JARVIS_FAULT_DIR") or not os.path.exists(path):
        return None
    os.unlink(path)
    return f"fault injected at start ({FAULT_FILE})"


FAULT: str | None = None


def check_database() -> dict[str, object]:
    started = time.monotonic()
    try:
        conn = psycopg2.connect(
            host=os.environ["JARVIS_PG_HOST"],
            port=int(os.environ["JARVIS_PG_PORT"]),
            user=os.environ["JARVIS_PG_USER"],
            password=os.environ["JARVIS_PG_PASSWORD"],
            dbname=os.environ["JARVIS_PG_DATABASE"],
            connect_timeout=2,
            application_name="jarvis-backend-health",
        )
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()
    except psycopg2.Error as exc:
        return {"status": "down", "error": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}
    return {"status": "up", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def check_redis() -> dict[str, object]:
    started = time.monotonic()
    client = redis.Redis(
        host=os.environ["JARVIS_REDIS_HOST"],
        port=int(os.environ["JARVIS_REDIS_PORT"]),
        password=os.environ.get("JARVIS_REDIS_PASSWORD") or None,
        socket_connect_timeout=2,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 0),  # a health check reports, it does not wait out an outage
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"status": "down", "error": str(exc)}
    finally:
        client.close()
    return {"status": "up", "latency_ms": round((time.monotonic() - started) * 1000, 1)}


class Handler(BaseHTTPRequestHandler):
    server_version = "jarvis-backend"

    def reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != "/health":
            self.reply(404, {"error": "not found"})
            return
        checks = {"database": check_database(), "redis": check_redis()}
        if FAULT:
            checks["release"] = {"status": "down", "error": FAULT}
        healthy = all(check["status"] == "up" for check in checks.values())
        self.reply(
            200 if healthy else 503,
            {"status": "healthy" if healthy else "unhealthy", "checks": checks, "version": VERSION},
        )

    def do_POST(self) -> None:
        if self.path != "/simple-chat":
            self.reply(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            self.reply(400, {"error": "body must be JSON"})
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
            self.reply(400, {"error": 'body must be {"message": "<text>"}'})
            return
        self.reply(200, {"response": f"Echo: {payload['message']}", "model": "jarvis-echo"})

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    global FAULT
    FAULT = take_fault()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"jarvis backend listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
