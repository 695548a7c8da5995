"""Reading an action's arguments: one reader, so every action refuses bad input the same way.

A handler asks for each argument by name and type; the reader raises ``BadArgs`` naming the
argument and what it must be, and ``done()`` refuses any argument the handler did not ask for
(a misspelt optional field must not be silently ignored in a payment instruction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aid.areas import area_level, require_in_tree
from aid.errors import BadArgs
from chain import limits
from chain.crypto import is_pubkey_hex

if TYPE_CHECKING:
    from aid.state import Records

MAX_TEXT_CHARS = 256  # a name, reason, document number or code in an action
MAX_LIST_ITEMS = 256  # items in one list argument (members, stages, ...)


class Args:
    """``a = Args(action, args, records); a.text("reason"); a.amount("amount"); a.done()``.

    ``records`` is the action's view of the ledger, for the one check that needs it: an area
    argument must be in the chain's area tree (genesis ``aid.areas``), not only well-formed.
    """

    __slots__ = ("_action", "_args", "_records", "_seen")

    def __init__(self, action: str, args: Any, records: Records) -> None:
        if not isinstance(args, dict):
            raise BadArgs(f"{action}: args must be an object")
        self._action = action
        self._args: dict[str, Any] = args
        self._records = records
        self._seen: set[str] = set()

    def _get(self, name: str, required: bool) -> Any:
        self._seen.add(name)
        if name not in self._args:
            if required:
                raise BadArgs(f"{self._action}: missing argument {name!r}", argument=name)
            return None
        return self._args[name]

    def _bad(self, name: str, must: str) -> BadArgs:
        return BadArgs(f"{self._action}: {name} must be {must}", argument=name)

    def text(self, name: str, *, required: bool = True, max_chars: int = MAX_TEXT_CHARS) -> str:
        value = self._get(name, required)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
            raise self._bad(name, f"a non-empty string of at most {max_chars} characters")
        return value

    def choice(self, name: str, options: tuple[str, ...], *, required: bool = True) -> str:
        value = self._get(name, required)
        if value is None and not required:
            return ""
        if value not in options:
            raise self._bad(name, "one of " + ", ".join(options))
        return str(value)

    def integer(self, name: str, *, low: int, high: int, required: bool = True) -> int:
        value = self._get(name, required)
        if value is None and not required:
            return low
        if type(value) is not int or not low <= value <= high:
            raise self._bad(name, f"an integer from {low} to {high}")
        return value

    def amount(self, name: str = "amount") -> int:
        """Money in fen: a positive integer below the chain's amount limit."""
        return self.integer(name, low=1, high=limits.MAX_AMOUNT - 1)

    def account(self, name: str) -> str:
        return self.hex64(name, "an account: 64 lowercase hex characters")

    def hex64(self, name: str, must: str) -> str:
        """64 lowercase hex characters: an account, a contract or an HMAC commitment."""
        value = self._get(name, True)
        if not is_pubkey_hex(value):
            raise self._bad(name, must)
        return str(value)

    def area(self, name: str, *, level: str | None = None) -> str:
        """A code of the chain's area tree (of ``level``, when given).

        A well-formed code the genesis did not list would pass every scope check of an account
        whose area contains it (a county registrar's, for a village that does not exist), and
        a household or fund filed there would be counted nowhere the agencies look.
        """
        value = self._get(name, True)
        found = area_level(value)  # raises UnknownArea naming a malformed code
        if level is not None and found != level:
            raise self._bad(name, f"a {level} code, not the {found} {value}")
        return require_in_tree(self._records.peek, value, f"{self._action}: {name}", argument=name)

    def flag(self, name: str) -> bool:
        value = self._get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def decision(self) -> tuple[str, str]:
        """``decision`` (approve/reject) and ``reason``, which a rejection must give."""
        decision = self.choice("decision", ("approve", "reject"))
        return decision, self.text("reason", required=decision == "reject")

    def has(self, name: str) -> bool:
        return name in self._args

    def list_of(self, name: str, *, max_items: int = MAX_LIST_ITEMS) -> list[Any]:
        value = self._get(name, True)
        if not isinstance(value, list) or len(value) > max_items:
            raise self._bad(name, f"a list of at most {max_items} items")
        return value

    def mapping(self, name: str, *, max_items: int = MAX_LIST_ITEMS) -> dict[str, Any]:
        value = self._get(name, True)
        if not isinstance(value, dict) or len(value) > max_items:
            raise self._bad(name, f"an object of at most {max_items} entries")
        return value

    def done(self) -> None:
        extra = sorted(set(self._args) - self._seen)
        if extra:
            raise BadArgs(f"{self._action}: unknown arguments {extra}", arguments=extra)
