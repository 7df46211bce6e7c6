#!/usr/bin/env python3
"""Judges the Slack messages of our notifications against Slack's official Python SDK,
slack_sdk 3.48.0 (module `slack_sdk.models.blocks`), which models every Block Kit block and
checks each against Slack's documented limits.

Each FILE holds the JSON body an incoming webhook received. Its `blocks` must parse into the
SDK's block classes (a type the SDK does not know parses to nothing, which is a problem), each
block must pass the SDK's own validation (`validate_json`: required fields, at most 10 fields of
a section, texts within 3,000 characters, element counts), and parse back to the JSON that was
sent, with nothing the SDK dropped; the `text` fallback must be a non-empty string.

Run: python tests/vendor/slack.py FILE... (exit 0 when every file passes; otherwise exit 1 with
one line per problem on stderr, naming the file, the block and the field).
"""

import argparse
import json
import sys

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block


def problems_of(name, payload):
    problems = []
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{name}: text: the plain-text fallback is missing or empty")
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return problems + [f"{name}: blocks: missing or empty"]
    if len(blocks) > 50:
        problems.append(f"{name}: blocks: {len(blocks)} blocks, Slack takes at most 50")
    for index, sent in enumerate(blocks):
        where = f"{name}: blocks[{index}] ({sent.get('type')})"
        block = Block.parse(sent)
        if block is None:
            problems.append(f"{where}: a block type slack_sdk does not know")
            continue
        try:
            block.validate_json()
        except SlackObjectFormationError as error:
            problems.append(f"{where}: {error}")
            continue
        if block.to_dict() != sent:
            problems.append(
                f"{where}: slack_sdk reads it as {json.dumps(block.to_dict(), sort_keys=True)}"
            )
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="JSON bodies of Slack webhook messages")
    args = parser.parse_args()
    problems = []
    for name in args.files:
        with open(name, encoding="utf-8") as file:
            problems += problems_of(name, json.load(file))
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
