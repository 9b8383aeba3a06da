"""Reading S3's XML answers at the pace of a listing of 100,000 keys: botocore's own parser, two costs removed.

Profiled on a 20,000-file project listed from SeaweedFS, botocore spent about half of the listing's CPU in
two places that do nothing for us:

- the S3 check for an error hidden in a 200 answer (`botocore.handlers._handle_200_error`) parses every body
  in full a first time, only to look at the name of its root element — `quick_200_check` decides the same from
  the body's first element and its last bytes (an `<Error>` root, or a body cut short, still counts as an
  error and is retried as before);
- its generic shape walker turns each `<Contents>` entry into a dict through a handler lookup and a
  dictionary of child nodes per field — `FastRestXMLParser` reads a structure whose fields are all
  plain values (strings, numbers, booleans, timestamps; each tag once) in one pass over its children, and
  hands anything else (nested structures, lists, attributes, repeated tags, unions) to botocore unchanged.

The result is the very dict botocore builds (tests/unit/test_s3_parsing.py compares the two on real
listings and on hand-made bodies with every field S3 may send).
"""

from __future__ import annotations

from typing import Any

from botocore.parsers import ResponseParserFactory, RestXMLParser

# The scalar kinds read in one step, each as botocore's XML handlers read them.
_SCALARS = frozenset({"string", "integer", "long", "boolean", "timestamp"})
_plans: dict[str, dict[str, tuple[str, str | None]] | None] = {}


def _plan(parser: RestXMLParser, shape: Any) -> dict[str, tuple[str, str | None]] | None:
    """xml tag → (member name, scalar kind or None) for `shape`, or None: botocore reads it."""
    if shape.metadata.get("exception") or getattr(shape, "is_tagged_union", False):
        return None
    plan: dict[str, tuple[str, str | None]] = {}
    for name, member in shape.members.items():
        serialization = member.serialization
        if serialization.get("xmlAttribute"):
            return None
        if serialization.get("location") in parser.KNOWN_LOCATIONS or serialization.get("eventheader"):
            continue
        kind = member.type_name if member.type_name in _SCALARS else None
        plan[parser._member_key_name(member, name)] = (name, kind)  # type: ignore[attr-defined]
    return plan


class FastRestXMLParser(RestXMLParser):
    """botocore's rest-xml parser with a one-pass reading of flat structures (see the module docstring)."""

    def _handle_structure(self, shape: Any, node: Any) -> Any:
        if isinstance(node, list):
            return super()._handle_structure(shape, node)  # type: ignore[misc]
        key = shape.name
        if key not in _plans:
            _plans[key] = _plan(self, shape)
        plan = _plans[key]
        if plan is None:
            return super()._handle_structure(shape, node)  # type: ignore[misc]
        parsed: dict[str, Any] = {}
        nested: dict[str, Any] = {}  # members botocore reads itself: their node, or nodes when repeated
        for child in node:
            tag = child.tag
            if tag[0] == "{":
                tag = tag[tag.index("}") + 1 :]
            entry = plan.get(tag)
            if entry is None:
                continue  # botocore too reads only the members the model names
            name, kind = entry
            if kind is None:
                held = nested.get(name)
                nested[name] = child if held is None else ([*held, child] if isinstance(held, list) else [held, child])
                continue
            if name in parsed:
                return super()._handle_structure(shape, node)  # type: ignore[misc]  # a scalar tag twice: botocore's way, whatever it is
            text = child.text
            if text is None:
                text = ""
            if kind == "string":
                parsed[name] = text
            elif kind == "timestamp":
                parsed[name] = self._timestamp_parser(text)  # type: ignore[attr-defined]
            elif kind == "boolean":
                parsed[name] = text == "true"
            else:
                parsed[name] = int(text)
        for name, value in nested.items():
            parsed[name] = self._parse_shape(shape.members[name], value)  # type: ignore[attr-defined]
        return parsed


class FastParserFactory(ResponseParserFactory):
    """botocore's factory, with `FastRestXMLParser` for S3's protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "rest-xml":
            return FastRestXMLParser(**self._defaults)  # type: ignore[attr-defined]
        return super().create_parser(protocol_name)


def _root_and_tail(body: bytes) -> tuple[bytes, bytes]:
    """The name of the body's first element and its last non-blank bytes."""
    head = body[:1024].lstrip()
    if head.startswith(b"<?xml"):
        end = head.find(b"?>")
        head = head[end + 2 :].lstrip() if end >= 0 else b""
    while head.startswith(b"<!--"):
        end = head.find(b"-->")
        head = head[end + 3 :].lstrip() if end >= 0 else b""
    name = b""
    if head.startswith(b"<"):
        stop = len(head)
        for mark in (b" ", b">", b"/", b"\t", b"\r", b"\n"):
            at = head.find(mark, 1)
            if 0 < at < stop:
                stop = at
        name = head[1:stop]
    return name, body[-len(name) - 64 :].rstrip()


def looks_like_error(status_code: int, body: bytes) -> bool:
    """botocore's `_looks_like_special_case_error` without parsing the body: a 200 whose root is `<Error>`, or
    whose XML is cut short or missing its root, is an error (so it is retried)."""
    if status_code != 200 or not body:
        return False
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        return True  # a declaration must come first: XML that no parser accepts
    name, tail = _root_and_tail(body)
    if not name or name == b"Error":
        return True
    return not (tail.endswith(b"</" + name + b">") or (tail.endswith(b"/>") and body.count(b"<") <= 2))


def quick_200_check(operation_model: Any, response_dict: Any, **_: Any) -> None:
    """What `botocore.handlers._handle_200_error` does (a 200 hiding an error becomes a 500, to be retried),
    deciding from the body's first and last bytes instead of a full parse."""
    from botocore.handlers import _should_handle_200_error  # type: ignore[attr-defined]

    if not _should_handle_200_error(operation_model, response_dict):
        return
    if looks_like_error(response_dict["status_code"], response_dict["body"]):
        response_dict["status_code"] = 500


def install(client: Any) -> None:
    """Swap botocore's full-parse 200 check for `quick_200_check` on this client (call before any thread uses
    it: registering events is not thread-safe)."""
    from botocore.handlers import _handle_200_error  # type: ignore[attr-defined]

    events = client.meta.events
    events.unregister("before-parse.s3.*", _handle_200_error)
    events.register_first("before-parse.s3.*", quick_200_check)
