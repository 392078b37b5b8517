"""What differs between the Pythons this project runs on (3.10–3.13)."""
from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    StrEnum = enum.StrEnum
else:   # Python 3.10: the same behaviour, written out
    class StrEnum(str, enum.Enum):
        """An enum whose members are strings and print as their values."""

        def __str__(self) -> str:
            return str(self.value)

        @staticmethod
        def _generate_next_value_(name, start, count, last_values):
            return name.lower()

__all__ = ["StrEnum"]
