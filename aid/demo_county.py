"""A fictional county for demos and benchmarks: deterministic, realistic in shape, never real.

``demo_county(seed)`` builds the same county on every machine: one county of 8 townships and 60
villages, a few thousand households with fictional names, valid-looking (check-digit-correct)
fictional ID numbers, phones and bank accounts, and the organisations of the four validator
agencies plus civil affairs and a village committee. Pseudo-randomness is SHA-256 of the seed and
a counter, so the data does not depend on the Python version's ``random`` implementation.

Nothing here is ledger logic: the demo loader turns this data into signed transactions (personal
fields are committed and sealed client side first, as a real agency's client would).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aid.identity import gb11643_check_digit

COUNTY_CODE = "530102000000"  # shaped like a Yunnan county code; the county itself is fictional
COUNTY_NAME = "青山县 (fictional)"
TOWNSHIPS = 8
VILLAGES = 60
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏辉建国志文亮春花云海燕"
TOWNSHIP_NAMES = ("东坪", "西河", "南山", "北岭", "石桥", "柳林", "松坡", "青溪")
CAUSES_WEIGHTED = (
    ("illness", 30),
    ("disability", 15),
    ("lack_skills", 15),
    ("lack_labour", 12),
    ("schooling", 8),
    ("disaster", 6),
    ("lack_funds", 6),
    ("remote", 4),
    ("low_motivation", 2),
    ("other", 2),
)


class Draw:
    """Deterministic pseudo-random draws: SHA-256(seed, label, counter)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._n = 0

    def below(self, n: int, label: str = "") -> int:
        self._n += 1
        digest = hashlib.sha256(f"{self._seed}:{label}:{self._n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % n

    def pick(self, options: str | tuple[str, ...], label: str = "") -> str:
        return options[self.below(len(options), label)]

    def weighted(self, options: tuple[tuple[str, int], ...]) -> str:
        total = sum(w for _, w in options)
        x = self.below(total, "weighted")
        for value, weight in options:
            if x < weight:
                return value
            x -= weight
        raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    id_number: str
    phone: str


@dataclass(frozen=True, slots=True)
class DemoHousehold:
    village: str
    members: tuple[Person, ...]
    bank_account: str
    cause: str
    income_per_head_yuan: int
    dibao: bool


@dataclass(slots=True)
class DemoCounty:
    county: str
    areas: list[dict[str, str]]
    households: list[DemoHousehold] = field(default_factory=list)

    @property
    def villages(self) -> list[str]:
        return [a["code"] for a in self.areas if not a["code"].endswith("000")]


def _areas() -> list[dict[str, str]]:
    areas = [
        {"code": "530000000000", "name": "云岭省 (fictional)"},
        {"code": "530100000000", "name": "春城市 (fictional)"},
        {"code": COUNTY_CODE, "name": COUNTY_NAME},
    ]
    per_township = [
        VILLAGES // TOWNSHIPS + (1 if t < VILLAGES % TOWNSHIPS else 0) for t in range(TOWNSHIPS)
    ]
    for t, count in enumerate(per_township, start=1):
        township = f"{COUNTY_CODE[:6]}{t:03d}000"
        areas.append({"code": township, "name": f"{TOWNSHIP_NAMES[t - 1]}镇"})
        for v in range(1, count + 1):
            areas.append(
                {"code": f"{township[:9]}{v:03d}", "name": f"{TOWNSHIP_NAMES[t - 1]}{v}村"}
            )
    return areas


def _person(draw: Draw, surname: str, used: set[str], adult: bool) -> Person:
    """A fictional person; ID numbers are unique within the county (``used``)."""
    name = surname + draw.pick(GIVEN, "given") + ("" if draw.below(3) == 0 else draw.pick(GIVEN))
    year = 1950 + draw.below(50) if adult else 2005 + draw.below(18)
    birth = f"{year}{1 + draw.below(12):02d}{1 + draw.below(28):02d}"
    sequence = draw.below(1000)
    while f"{birth}{sequence:03d}" in used:
        sequence = (sequence + 1) % 1000
    used.add(f"{birth}{sequence:03d}")
    first17 = f"{COUNTY_CODE[:6]}{birth}{sequence:03d}"
    phone = f"1{draw.pick(('38', '39', '58', '87', '99'))}{draw.below(10**8):08d}"
    return Person(name, first17 + gb11643_check_digit(first17), phone)


def demo_county(seed: int = 2026, households: int = 3000) -> DemoCounty:
    """The demo county with ``households`` households spread over its 60 villages."""
    draw = Draw(seed)
    county = DemoCounty(COUNTY_CODE, _areas())
    villages = county.villages
    used: set[str] = set()
    for i in range(households):
        surname = draw.pick(SURNAMES, "surname")
        size = 1 + draw.below(6)
        members = []
        for m in range(size):
            member_surname = surname if m == 0 or draw.below(2) else draw.pick(SURNAMES)
            members.append(_person(draw, member_surname, used, adult=m < 2))
        county.households.append(
            DemoHousehold(
                village=villages[i % len(villages)],
                members=tuple(members),
                bank_account=f"6228{draw.below(10**12):012d}",
                cause=draw.weighted(CAUSES_WEIGHTED),
                income_per_head_yuan=1500 + draw.below(5000),
                dibao=draw.below(4) == 0,
            )
        )
    return county


# --- oversight in the demo county (issue 11) ------------------------------------------------
MONITORING_LINE_YUAN = 4_000  # the fictional province's monitoring line (real ones: ~8,800)
MONITORING_PARAMS = {
    "lines": {"2026": MONITORING_LINE_YUAN},
    "near_line_pct": 110,
    "red_income_pct": 60,
    "orange_medical_pct": 30,
    "red_medical_pct": 60,
}
# the income each alerted household reports, by the level the rules will give it
ALERT_INCOMES = {"red": 2_000, "orange": 3_500, "yellow": 4_200}
ALERTS_PER_LEVEL = {"red": 6, "orange": 6, "yellow": 8}
PAIR_EVERY = 10  # every 10th household gets a responsible cadre


@dataclass(frozen=True, slots=True)
class OversightPlan:
    """Which demo households (by index) get which oversight story.

    ``exiting``: attested and proposed for lifting (the first is lifted, the second is held by
    an objection), never put in a payment cycle; ``paired``: bound to their township's cadre,
    ``visited`` of them recorded a visit; ``alerts``: level -> households reporting an income
    that raises an alert of that level; ``complaint``: a not-received grievance; ``report``:
    a sensitive (fraud) report in its village.
    """

    exiting: tuple[int, ...]
    paired: tuple[int, ...]
    visited: tuple[int, ...]
    alerts: dict[str, tuple[int, ...]]
    complaint: int | None
    report: int | None


def oversight_plan(households: int) -> OversightPlan:
    """The plan for a county of ``households``: small counties get a smaller story."""
    exiting = tuple(range(min(2, households)))
    rest = list(range(len(exiting), households))
    paired = tuple(rest[::PAIR_EVERY])
    alerts = {
        level: tuple(rest[1 + n :: 40][: ALERTS_PER_LEVEL[level]])
        for n, level in enumerate(ALERT_INCOMES)
    }
    return OversightPlan(
        exiting=exiting,
        paired=paired,
        visited=paired[::2],
        alerts=alerts,
        complaint=rest[5] if len(rest) > 5 else None,
        report=rest[6] if len(rest) > 6 else None,
    )
