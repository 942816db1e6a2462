"""The one exception type for bad input, caught once at the CLI edge."""

from __future__ import annotations

# The plaintexts of the vaulted values this run decrypted (dlrig.plan.inventory): never printed, named
# instead.
_VAULTED: set[str] = set()
VAULTED_SHOWN = "a vaulted value"


def remember_vaulted(text: str) -> None:
    """Keep ``text`` (a decrypted vault value) out of every message."""
    if text:
        _VAULTED.add(text)


def is_vaulted(value: object) -> bool:
    """Whether ``value`` is (the plaintext of) a vaulted value."""
    return isinstance(value, str) and value in _VAULTED


MAX_MESSAGE = 500


def printable(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one line a terminal shows as it is: control characters (newlines, ESC of ANSI
    sequences, C1 controls, DEL) written as escapes, clipped to ``limit`` characters."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 32 or 127 <= code < 160 or ch in "\u2028\u2029":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{code:02x}" if code < 256
                                                                  else f"\\u{code:04x}"))
        else:
            out.append(ch)
        if len(out) > limit:
            break
    line = "".join(out)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def escaped(value: object) -> object:
    """``value`` (a report document) with control characters escaped in every string, for the text
    renderers: what a host reports (nvidia-smi's names in --live) cannot forge lines or move the cursor."""
    if isinstance(value, str):
        return printable(value, limit=1 << 30)
    if isinstance(value, dict):
        return {k: escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value


def scrub(text: str) -> str:
    """``text`` with every decrypted vault value of 4 or more characters replaced by a name (a shorter one
    is only hidden where it is the whole value shown: see dlrig.plan.parse)
    """
    for secret in sorted(_VAULTED, key=len, reverse=True):
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, f"<{VAULTED_SHOWN}>")
    return text


class InputError(Exception):
    """Bad input: names the host, the variable path and the problem.

    Rendered as ``deep-al: hardware.gpus[0].count: expected a whole number >= 1, got 'two'``.
    """

    def __init__(self, host: str | None, path: str, problem: str) -> None:
        self.host = host
        self.path = path
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.host}: " if self.host else ""
        path = f"{self.path}: " if self.path else ""
        return scrub(f"{where}{path}{self.problem}")
