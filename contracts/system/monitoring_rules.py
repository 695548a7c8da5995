# ruff: noqa: F821
# mypy: ignore-errors
"""Return-to-poverty monitoring rules (防止返贫动态监测) of one province, as a contract.

The ledger (aid/monitoring.py) calls two hooks, read-only, with non-personal data:

- ``evaluate(household, indicators, year)``: after each indicator report, with the household's
  non-personal view and its latest indicators of the year (``income_per_head_yuan``,
  ``medical_expense_yuan``, ``disaster`` and ``job_loss`` flags, whichever were reported).
  Answers ``None`` (no alert) or ``{"level": "yellow"|"orange"|"red", "reason": text}``;
- ``line(year)``: the monitoring line of that year in yuan per head, which the exit criterion
  "income above the line" is judged against.

Everything a province decides is a parameter set at deploy time: the line per year and the
thresholds. A province changes them by deploying this contract again with other parameters (or
another contract with the same two hooks) and pointing its area at it (``monitoring.rules``):
no release of the node. This file is contract source in the VM's Python subset; it is never
imported by the node.

Levels (the highest that applies):
- red: income below ``red_income_pct`` % of the line, or a medical expense of at least
  ``red_medical_pct`` % of the household's yearly income;
- orange: income below the line, a medical expense of at least ``orange_medical_pct`` %, or a
  disaster;
- yellow: income below ``near_line_pct`` % of the line (near the line), or a loss of work.
"""


def init(lines, near_line_pct, red_income_pct, orange_medical_pct, red_medical_pct):
    require(isinstance(lines, dict) and len(lines) > 0, "lines maps years to yuan per head")
    for year, line in lines.items():
        require(len(year) == 4 and year.isdigit(), "each key of lines is a year like 2026")
        require(isinstance(line, int) and line > 0, "each line is a whole number of yuan > 0")
    for name, value in (
        ("near_line_pct", near_line_pct),
        ("red_income_pct", red_income_pct),
        ("orange_medical_pct", orange_medical_pct),
        ("red_medical_pct", red_medical_pct),
    ):
        require(isinstance(value, int) and 0 < value <= 1000, f"{name} must be 1..1000")
    require(red_income_pct <= 100 <= near_line_pct, "red_income_pct <= 100 <= near_line_pct")
    require(orange_medical_pct <= red_medical_pct, "orange_medical_pct <= red_medical_pct")
    storage["lines"] = lines
    storage["params"] = {
        "near_line_pct": near_line_pct,
        "red_income_pct": red_income_pct,
        "orange_medical_pct": orange_medical_pct,
        "red_medical_pct": red_medical_pct,
    }


def line(year):
    lines = storage["lines"]
    key = str(year)
    require(key in lines, f"no monitoring line is set for {year}")
    return lines[key]


def evaluate(household, indicators, year):
    p = storage["params"]
    monitoring_line = line(year)
    income = indicators.get("income_per_head_yuan", household["income_per_head_yuan"])
    medical = indicators.get("medical_expense_yuan", 0)
    yearly_income = income * household["size"]
    found = []
    if income * 100 < monitoring_line * p["red_income_pct"]:
        found.append(
            (3, f"income per head {income} yuan is far below the line of {monitoring_line}")
        )
    elif income < monitoring_line:
        found.append((2, f"income per head {income} yuan is below the line of {monitoring_line}"))
    elif income * 100 < monitoring_line * p["near_line_pct"]:
        found.append((1, f"income per head {income} yuan is near the line of {monitoring_line}"))
    if medical > 0:
        if medical * 100 >= yearly_income * p["red_medical_pct"]:
            found.append(
                (3, f"a medical expense of {medical} yuan against {yearly_income} yuan income")
            )
        elif medical * 100 >= yearly_income * p["orange_medical_pct"]:
            found.append(
                (2, f"a medical expense of {medical} yuan against {yearly_income} yuan income")
            )
    if indicators.get("disaster", 0) == 1:
        found.append((2, "the household was hit by a disaster"))
    if indicators.get("job_loss", 0) == 1:
        found.append((1, "a member lost their work"))
    if not found:
        return None
    found.sort()
    rank, reason = found[-1]
    return {"level": ("yellow", "orange", "red")[rank - 1], "reason": reason}
