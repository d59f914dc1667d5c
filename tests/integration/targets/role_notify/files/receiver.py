"""Stand-ins for the notify role's endpoints; every request or message is appended to a JSON-lines log.

    receiver.py --log FILE --status-port PORT --slack-port PORT --cert PEM --key PEM
                --smtp-port PORT --smtp-user USER --smtp-password PASSWORD

- status page: plain HTTP on --status-port; answers 201 to every POST.
- Slack: an HTTP proxy on --slack-port. The slack module only posts to https://hooks.slack.com,
  so the test sets https_proxy to this port: a CONNECT is answered, the tunnel is terminated with
  the test's self-signed certificate (trusted through SSL_CERT_FILE) and the request inside it is
  logged and answered 200 "ok", as Slack's incoming webhooks do.
- SMTP: aiosmtpd on --smtp-port, AUTH LOGIN/PLAIN accepted without TLS for --smtp-user only.

Each log line: {"server": "status_page" | "slack" | "smtp", ...}. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import logging
import signal
import socketserver
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HEADERS_KEPT = ("host", "content-type", "accept", "authorization", "x-api-key")
LOCK = threading.Lock()


def record(path: str, entry: dict) -> None:
    with LOCK, open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tunnel = ""

    def log_message(self, *args):  # quiet: the test reads the log file
        pass

    def do_CONNECT(self):
        if self.server.tls is None:
            self.send_error(405)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.tunnel = self.path
        self.connection = self.server.tls.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = socketserver._SocketWriter(self.connection)
        self.close_connection = False

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record(
            self.server.log,
            {
                "server": self.server.name,
                "method": self.command,
                "tunnel": self.tunnel,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items() if k.lower() in HEADERS_KEPT},
                "body": body,
            },
        )
        answer = b"ok" if self.server.name == "slack" else b'{"ok": true}'
        self.send_response(200 if self.server.name == "slack" else 201)
        self.send_header("Content-Type", "text/plain" if self.server.name == "slack" else "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer)
        self.close_connection = True


def http_server(name: str, port: int, log: str, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.name, server.log, server.tls = name, log, tls
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Mailbox:
    def __init__(self, log: str):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        record(
            self.log,
            {
                "server": "smtp",
                "auth_user": session.auth_data,
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "subject": str(message["subject"]),
                "from": str(message["from"]),
                "to": str(message["to"]),
                "body": part.get_content() if part is not None else "",
            },
        )
        return "250 Message accepted for delivery"


def authenticator(user: str, password: str):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return check


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--status-port", type=int, required=True)
    parser.add_argument("--slack-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--smtp-user", required=True)
    parser.add_argument("--smtp-password", required=True)
    args = parser.parse_args()
    # aiosmtpd logs a warning about its own use of a deprecated attribute on every login.
    logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    http_server("status_page", args.status_port, args.log)
    http_server("slack", args.slack_port, args.log, tls)
    smtp = Controller(
        Mailbox(args.log),
        hostname="127.0.0.1",
        port=args.smtp_port,
        authenticator=authenticator(args.smtp_user, args.smtp_password),
        auth_require_tls=False,
    )
    smtp.start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    smtp.stop()


if __name__ == "__main__":
    main()
