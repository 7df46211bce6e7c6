#!/usr/bin/env python3
"""Writes the values table of charts/hris-operator/README.md from the comments of values.yaml.

A value is documented by a comment starting with `# --` right above its key (continued by the
`#` lines after it, up to the key). The table lists every documented key, in the order of
values.yaml, with its type (from values.schema.json), its default (from values.yaml) and that
comment. Keys under a documented key are part of its default; other comments (section notes
without `--`) are not copied. A value that is neither documented nor under a documented key is
an error.

    .venv/bin/python tests/manifests/chart_readme.py           # rewrite the table in the README
    .venv/bin/python tests/manifests/chart_readme.py --check   # exit 1 when it is out of date

tests/manifests/check.py runs the check. Needs PyYAML only.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "hris-operator"
VALUES = CHART / "values.yaml"
SCHEMA = CHART / "values.schema.json"
README = CHART / "README.md"
START = "<!-- values-table:start: written by tests/manifests/chart_readme.py from values.yaml -->"
END = "<!-- values-table:end -->"

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_./-]+):(?:\s|$)")
DOC_START = re.compile(r"^\s*# --(?: (?P<text>.*))?$")
COMMENT = re.compile(r"^\s*#(?: (?P<text>.*))?$")


class ValuesDocError(Exception):
    """values.yaml cannot be documented as it stands; the message says where."""


@dataclass
class Row:
    key: str
    type: str
    default: str
    description: str


def documented_keys(text: str) -> dict[tuple[str, ...], str]:
    """The `# --` comment of every documented key, by path, in file order."""
    docs: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] | None = None
    list_indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            pending = None
            continue
        indent = len(line) - len(line.lstrip(" "))
        if list_indent is not None and indent > list_indent:
            continue
        list_indent = None
        if (start := DOC_START.match(line)) is not None:
            pending = [(start["text"] or "").strip()]
            continue
        if (comment := COMMENT.match(line)) is not None:
            if pending is not None:
                pending.append((comment["text"] or "").strip())
            continue
        if line.lstrip().startswith("- "):
            list_indent = indent
            continue
        match = KEY_LINE.match(line)
        if match is None:
            raise ValuesDocError(f"values.yaml:{number}: cannot read this line as a key: {line!r}")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        if pending is not None:
            docs[tuple(key for _, key in stack)] = " ".join(part for part in pending if part)
            pending = None
    return docs


def leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in leaves(item, path + (key,))]
    return [path]


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def schema_type(schema: dict[str, Any], path: tuple[str, ...], default: Any) -> str:
    node: dict[str, Any] | None = schema
    for key in path:
        node = (node or {}).get("properties", {}).get(key)
    names = {"string": "string", "integer": "int", "number": "number", "boolean": "bool",
             "array": "list", "object": "object", "null": "null"}
    if node:
        declared = node.get("type") or [option.get("type") for option in node.get("oneOf", [])]
        declared = [declared] if isinstance(declared, str) else [t for t in declared if t]
        shown = [names[t] for t in declared if t != "null"]
        if shown:
            return " or ".join(shown)
    by_python = {str: "string", bool: "bool", int: "int", float: "number", list: "list", dict: "object"}
    return by_python.get(type(default), "null")


def code_cell(text: str) -> str:
    """Text for a code span in a table cell: only `|` needs escaping there."""
    return text.replace("|", "\\|")


def cell(text: str) -> str:
    """Text for a table cell: `|` escaped, and `<`, `>` too outside code spans (where they
    would read as HTML)."""
    pieces = text.replace("|", "\\|").split("`")
    for index in range(0, len(pieces), 2):
        pieces[index] = pieces[index].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(pieces)


def rows() -> list[Row]:
    text = VALUES.read_text()
    values = yaml.safe_load(text)
    schema = json.loads(SCHEMA.read_text())
    docs = documented_keys(text)
    undocumented = [".".join(leaf) for leaf in leaves(values)
                    if not any(leaf[:length] in docs for length in range(1, len(leaf) + 1))]
    if undocumented:
        raise ValuesDocError("values.yaml: no `# --` comment above these values or a key above them: "
                             + ", ".join(undocumented))
    table = []
    for path, description in docs.items():
        default = lookup(values, path)
        table.append(Row(key=".".join(path), type=schema_type(schema, path, default),
                         default=json.dumps(default, ensure_ascii=False), description=description))
    return table


def table() -> str:
    lines = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    lines += [f"| `{row.key}` | {row.type} | `{code_cell(row.default)}` | {cell(row.description)} |" for row in rows()]
    return "\n".join(lines)


def expected_readme(current: str) -> str:
    """The README with its values table rewritten."""
    if current.count(START) != 1 or current.count(END) != 1 or current.index(START) > current.index(END):
        raise ValuesDocError(f"{README.name} needs one values table between the lines\n  {START}\n  {END}")
    before, rest = current.split(START)
    _, after = rest.split(END)
    return f"{before}{START}\n{table()}\n{END}{after}"


def main(argv: list[str]) -> int:
    current = README.read_text()
    try:
        wanted = expected_readme(current)
    except ValuesDocError as error:
        print(f"chart_readme: {error}", file=sys.stderr)
        return 1
    if argv[1:] == ["--check"]:
        if wanted != current:
            print(f"chart_readme: {README} is out of date with values.yaml; run tests/manifests/chart_readme.py",
                  file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
