#!/usr/bin/env python3
"""SMTP capture server for sspr's tests (aiosmtpd).

Every message received is written atomically to DIR as NNNNN.eml (the message as received,
with X-Envelope-From / X-Envelope-To / X-Peer headers added in front) plus NNNNN.json:
{"mail_from": ..., "rcpt_tos": [...], "peer": ..., "tls": bool, "eml": "NNNNN.eml",
"from", "to", "subject", "content_type" (decoded headers), "text", "html" (the decoded
text/plain and text/html parts, or null)}. The .json file is written last, so a reader that
sees it also sees the .eml. Decoding here keeps MIME parsing out of the Rust tests.

Recipients whose local part starts with "unknown-" are refused with 550 (permanent), those
starting with "busy-" with 451 (temporary).

    smtp-capture.py --dir DIR [--host 127.0.0.1] [--port 2525] [--starttls]

--starttls offers STARTTLS with a self-signed certificate for "localhost" and 127.0.0.1,
generated at start into DIR/../smtp-tls/{cert,key}.pem (with the openssl command line tool).
It is not required: clients may also send in plain text.

Prints "READY host:port" on stdout once it accepts connections, and runs until SIGTERM.
"""

import argparse
import asyncio
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import subprocess
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Capture:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        existing = [
            int(n.split(".")[0])
            for n in os.listdir(directory)
            if n.endswith(".json") and n.split(".")[0].isdigit()
        ]
        self.counter = itertools.count(max(existing, default=0) + 1)

    def _write(self, name, data):
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.directory, name))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # Canned refusals so tests can see how a client classifies them.
        local = address.split("@")[0]
        if local.startswith("unknown-"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("busy-"):
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        stem = "%05d" % n
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        tls = session.ssl is not None
        headers = (
            "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-Peer: %s\r\n"
            % (envelope.mail_from, ", ".join(envelope.rcpt_tos), peer)
        ).encode()
        self._write(stem + ".eml", headers + envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": peer,
            "tls": tls,
            "eml": stem + ".eml",
        }
        meta.update(decode(envelope.original_content))
        self._write(stem + ".json", json.dumps(meta, indent=1).encode())
        print("captured %s from %s to %s (tls=%s)" % (stem, envelope.mail_from, envelope.rcpt_tos, tls), file=sys.stderr, flush=True)
        return "250 OK captured as " + stem


def decode(raw):
    """The headers and text parts a test wants to look at, decoded."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {"text/plain": None, "text/html": None}
        for part in msg.walk():
            ct = part.get_content_type()
            if ct in parts and parts[ct] is None and not part.is_multipart():
                parts[ct] = part.get_content()
        return {
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "message_id": str(msg.get("Message-ID", "")),
            "content_type": msg.get_content_type(),
            "text": parts["text/plain"],
            "html": parts["text/html"],
        }
    except Exception as e:  # keep the raw message even if it does not parse
        return {"decode_error": repr(e)}


def self_signed(tls_dir):
    os.makedirs(tls_dir, exist_ok=True)
    cert = os.path.join(tls_dir, "cert.pem")
    key = os.path.join(tls_dir, "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cert, key


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--starttls", action="store_true")
    args = p.parse_args()

    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    handler = Capture(directory)

    kwargs = {}
    if args.starttls:
        cert, key = self_signed(os.path.join(os.path.dirname(directory), "smtp-tls"))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = False

    class Server(Controller):
        def factory(self):
            return SMTP(self.handler, hostname="sspr-smtp-capture", **kwargs)

    controller = Server(handler, hostname=args.host, port=args.port)
    controller.start()
    print("READY %s:%d" % (args.host, args.port), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    controller.stop()


if __name__ == "__main__":
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    main()
