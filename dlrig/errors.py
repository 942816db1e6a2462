"""The one exception type for bad input, caught once at the CLI edge."""

from __future__ import annotations


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
        return f"{where}{path}{self.problem}"
