#!/usr/bin/env python3
"""A real SMTP server for sesame's tests, built on aiosmtpd.

It behaves like the parts of a mail relay (and of Amazon SES's SMTP interface) that sesame must
handle: STARTTLS before AUTH (or TLS from the first byte with --implicit-tls), AUTH PLAIN/LOGIN
checked against a user name and password, and in SES mode the SES replies for unverified senders
(554) and throttling (454).

    smtp_server.py --cert PEM --key PEM --out DIR
                   [--user U --password P]
                   [--ses-region R --ses-secret S --ses-access-key-id ID] [--verified ADDR,...]
                   [--implicit-tls] [--idle-timeout SECS]

It listens on 127.0.0.1 on an ephemeral port and prints `PORT <n>` once it accepts connections.
Every accepted message is written to DIR/<n>.json (n = 1, 2, ...; written to a temporary file then
renamed, so a reader never sees half a file) with the fields mail_from, rcpt_tos, data (the raw
RFC 5322 text), tls, auth_user and peer (the client's address:port).

A file DIR/throttle holding a number N makes the next N transactions end with
`454 Throttling failure: Maximum sending rate exceeded.` (after DATA, as SES answers).

In SES mode the SMTP password is derived here, independently of sesame, with AWS's published
version-4 algorithm (see ses_smtp_password below).
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def ses_smtp_password(secret: str, region: str) -> str:
    """AWS's derivation of an SES SMTP password from an IAM secret access key."""

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    signature = sign(("AWS4" + secret).encode("utf-8"), "11111111")
    for part in (region, "ses", "aws4_request", "SendRawEmail"):
        signature = sign(signature, part)
    return base64.b64encode(bytes([0x04]) + signature).decode("ascii")


class Recorder:
    """The aiosmtpd handler: checks senders, applies throttling, records accepted messages."""

    def __init__(self, args):
        self.out = args.out
        self.implicit_tls = args.implicit_tls
        self.ses_region = args.ses_region
        self.verified = {a.strip().lower() for a in (args.verified or "").split(",") if a.strip()}
        self.counter = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.ses_region is not None and address.lower() not in self.verified:
            return (
                "554 Message rejected: Email address is not verified. The following identities "
                f"failed the check in region {self.ses_region}: {address}"
            )
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A relay refusing one recipient (tests/operations.rs): the transport itself works.
        if address.lower().startswith("rejected@"):
            return "550 5.1.1 <rejected@...>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.take_throttle():
            return "454 Throttling failure: Maximum sending rate exceeded."
        self.counter += 1
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        auth_user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode("utf-8", errors="replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": data,
            "tls": self.implicit_tls or session.ssl is not None,
            "auth_user": auth_user,
            # The client's address and port: two messages with the same came over one
            # connection (the client reused it).
            "peer": "%s:%s" % tuple(session.peer[:2]) if session.peer else None,
        }
        path = os.path.join(self.out, f"{self.counter}.json")
        write_atomically(path, json.dumps(record))
        return "250 OK: message accepted"

    def take_throttle(self) -> bool:
        """True when this transaction must be throttled (and counts it down)."""
        path = os.path.join(self.out, "throttle")
        try:
            with open(path) as f:
                remaining = int(f.read().strip() or "0")
        except (FileNotFoundError, ValueError):
            return False
        if remaining <= 0:
            return False
        write_atomically(path, str(remaining - 1))
        return True


def write_atomically(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def make_authenticator(user: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and hmac.compare_digest(auth_data.login, user.encode("utf-8"))
            and hmac.compare_digest(auth_data.password, password.encode("utf-8"))
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticator


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--ses-region")
    p.add_argument("--ses-secret")
    p.add_argument("--ses-access-key-id")
    p.add_argument("--verified", help="comma-separated verified sender addresses (SES mode)")
    p.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    p.add_argument(
        "--idle-timeout", type=float, default=30.0, help="close a session idle this long (s)"
    )
    args = p.parse_args()
    if args.ses_region is not None:
        if not (args.ses_secret and args.ses_access_key_id):
            p.error("SES mode needs --ses-region, --ses-secret and --ses-access-key-id")
        args.user = args.ses_access_key_id
        args.password = ses_smtp_password(args.ses_secret, args.ses_region)
    elif (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    return args


async def main():
    args = parse_args()
    # aiosmtpd logs every session (and a deprecation warning per AUTH); tests read only errors.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    os.makedirs(args.out, exist_ok=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)
    handler = Recorder(args)
    loop = asyncio.get_running_loop()
    auth = args.user is not None

    def factory():
        return SMTP(
            handler,
            hostname="smtp.test",
            loop=loop,
            # With implicit TLS the connection is encrypted before SMTP starts; aiosmtpd only knows
            # about STARTTLS, so its own TLS checks are switched off in that mode.
            tls_context=None if args.implicit_tls else tls,
            require_starttls=not args.implicit_tls,
            auth_require_tls=not args.implicit_tls,
            auth_required=auth,
            authenticator=make_authenticator(args.user, args.password) if auth else None,
            timeout=args.idle_timeout,
        )

    server = await loop.create_server(
        factory, host="127.0.0.1", port=0, ssl=tls if args.implicit_tls else None
    )
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
