"""A real SMTP server for the notification tests: aiosmtpd (PyPI), a third-party implementation
of the protocol, receives the emails hris-operator sends, and Python's own `email` package reads
them, so neither the server nor the parser is ours.

It listens on 127.0.0.1 on a free port, prints `listening on 127.0.0.1:PORT` once it accepts
connections, and writes each message it accepts to DIR: `NNNN.eml` (the message as received)
and `NNNN.json` (the envelope, the headers the tests read, and every leaf MIME part's content
type and decoded text). Each file appears whole (written aside, then renamed). With
`--defer N` the first N messages are answered `451 4.3.0` (try again later) and not stored.
It exits when its standard input closes, so it never outlives the test that started it.

Run: python tests/smtp/serve.py DIR [--defer N]
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import sys
from pathlib import Path

from aiosmtpd.smtp import SMTP


class Store:
    """An aiosmtpd handler that keeps each accepted message in a folder."""

    def __init__(self, folder: Path, defer: int):
        self.folder = folder
        self.defer = defer
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.defer > 0:
            self.defer -= 1
            return "451 4.3.0 Try again later"
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [
            {"contentType": part.get_content_type(), "text": part.get_content()}
            for part in message.walk()
            if not part.is_multipart()
        ]
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "messageId": str(message["message-id"]),
            "contentType": message.get_content_type(),
            "parts": parts,
        }
        stem = self.folder / f"{self.count:04}"
        write_whole(stem.with_suffix(".eml"), raw)
        write_whole(stem.with_suffix(".json"), json.dumps(record).encode())
        return "250 2.0.0 Message accepted"


def write_whole(path: Path, data: bytes):
    aside = path.with_name(path.name + ".part")
    aside.write_bytes(data)
    os.replace(aside, path)


async def serve(folder: Path, defer: int):
    loop = asyncio.get_running_loop()
    handler = Store(folder, defer)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test.invalid"), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where accepted messages are written")
    parser.add_argument("--defer", type=int, default=0, help="answer 451 to the first N messages")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.folder, args.defer))


if __name__ == "__main__":
    main()
