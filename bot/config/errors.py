"""The one error configuration raises: it names the key or variable and what was expected, on one line."""

from __future__ import annotations


class ConfigError(Exception):
    """One line naming the key or variable and what was expected, fixable without reading a traceback."""

    def __init__(self, key: str, expected: str) -> None:
        self.key = key
        self.expected = " ".join(expected.split())  # always one line, whatever a YAML error message contained
        super().__init__(key, self.expected)  # both args, so that the error survives pickling

    def __str__(self) -> str:
        return f"{self.key}: {self.expected}"

