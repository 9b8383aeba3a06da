"""Text from outside (bucket keys, manifests, file names on disk) made safe to show, and how loud libraries may be.

Pure: no Qt, no I/O. The CLI and the window both show names through `printable`.
"""

from __future__ import annotations

import logging
import re

# C0 controls, DEL, C1 controls, the bidirectional overrides and isolates (which can make a name read
# backwards: "Trojan Source"), the line and paragraph separators (a line break in Qt labels), and every
# surrogate: a lone one comes from a name that is not valid UTF-8 (os.fsdecode's surrogateescape) or not
# valid UTF-16 (Windows), and cannot be encoded for a terminal at all.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# The libraries whose log records are theirs, not ours: silent without --debug (botocore's credential
# providers log whole tracebacks at WARNING for a missing SSO sign-in, before our own sentence says so).
THIRD_PARTY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "awscrt", "keyring")
# With --debug they log, but never below these: botocore's and s3transfer's DEBUG records carry request
# headers and call parameters.
_DEBUG_LEVELS = {"botocore": logging.WARNING, "boto3": logging.WARNING, "s3transfer": logging.WARNING}
SILENT = logging.CRITICAL + 1


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character, lone surrogate and direction override escaped visibly.

    ESC → `\\x1b`, newline → `\\n`, NUL → `\\x00`, C1 0x80–0x9f → `\\x85`…, an undecodable byte kept by
    surrogateescape ('caf\\udce9') → `\\xe9`, other surrogates and U+202E… → `\\u202e`. Everything else,
    accents, CJK and emoji included, is left as it is.
    """
    return _UNSAFE.sub(_escape, text)


def third_party_log_levels(debug: bool) -> dict[str, int]:
    """The level to give each third-party logger: silent without `debug`, else as loud as is safe."""
    if not debug:
        return dict.fromkeys(THIRD_PARTY_LOGGERS, SILENT)
    return {name: _DEBUG_LEVELS.get(name, logging.DEBUG) for name in THIRD_PARTY_LOGGERS}
