# ruff: noqa: F821
# mypy: ignore-errors
"""A poverty-alleviation program budget: k-of-n approved payments to households.

The finance bureau funds this contract's account (a normal transfer to its address). Township
staff propose payments to households, identified only by salted hash commitments; a payment is
made once `threshold` distinct approvers from the poverty-alleviation office have approved it.
The rules every node enforces identically:

- payments only inside the program's time window [starts_at, ends_at) (block time, ms);
- a household must be eligible in the registry contract (if one is configured);
- at most `household_cap` fen per household per period, and never two payments to one
  household in one period (no double payment);
- never more than the budget: the contract's own balance, checked by `transfer`;
- the payout goes to the disbursing bank's account, with the commitment in the event, so the
  bank pays the household off chain and auditors can reconcile every fen.

This file is contract source in the VM's Python subset; it is never imported by the node.
"""

MAX_APPROVERS = 16


def init(
    approvers,
    proposers,
    threshold,
    household_cap,
    bank,
    starts_at,
    ends_at,
    registry=None,
    category="basic",
):
    require(
        isinstance(approvers, list) and 0 < len(approvers) <= MAX_APPROVERS, "1 to 16 approvers"
    )
    require(isinstance(proposers, list) and len(proposers) > 0, "at least one proposer")
    for who in approvers + proposers + [bank]:
        require(_is_hex64(who), f"not an address: {who}")
    require(len(_unique(approvers)) == len(approvers), "duplicate approver")
    require(
        isinstance(threshold, int) and 0 < threshold <= len(approvers),
        "threshold must be between 1 and the number of approvers",
    )
    require(isinstance(household_cap, int) and household_cap > 0, "household_cap must be > 0")
    require(
        isinstance(starts_at, int) and isinstance(ends_at, int) and starts_at < ends_at,
        "empty time window",
    )
    require(registry is None or _is_hex64(registry), "registry must be a contract address")
    storage["config"] = {
        "approvers": approvers,
        "proposers": proposers,
        "threshold": threshold,
        "household_cap": household_cap,
        "bank": bank,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "registry": registry,
        "category": category,
        "admin": ctx.sender,
    }
    storage["paid_total"] = 0
    storage["payments"] = 0


def propose(payment_id, commitment, amount, period):
    """A proposer asks to pay `amount` fen to the household `commitment` for `period`."""
    config = storage["config"]
    require(ctx.sender in config["proposers"], "only a proposer may propose")
    _check_window(config)
    require(isinstance(payment_id, str) and 0 < len(payment_id) <= 64, "bad payment id")
    require(_is_hex64(commitment), "commitment must be a 64-hex sha256")
    require(
        isinstance(amount, int) and 0 < amount <= config["household_cap"],
        f"amount must be between 1 and {config['household_cap']} fen",
    )
    require(isinstance(period, str) and 0 < len(period) <= 16, "bad period")
    require("p:" + payment_id not in storage, "payment id already used")
    require(_paid_key(commitment, period) not in storage, "household already paid this period")
    if config["registry"] is not None:
        eligible = call(
            config["registry"],
            "is_eligible",
            commitment=commitment,
            category=config["category"],
            at=ctx.time,
        )
        require(eligible, "household is not eligible")
    storage["p:" + payment_id] = {
        "commitment": commitment,
        "amount": amount,
        "period": period,
        "proposer": ctx.sender,
        "approvals": [],
        "status": "pending",
        "proposed_at": ctx.time,
    }
    emit("proposed", payment_id=payment_id, commitment=commitment, amount=amount, period=period)
    return "pending"


def approve(payment_id):
    """An approver approves; the `threshold`-th approval pays out (or fails, reverting all)."""
    config = storage["config"]
    require(ctx.sender in config["approvers"], "only an approver may approve")
    _check_window(config)
    key = "p:" + payment_id
    require(key in storage, "unknown payment")
    payment = storage[key]
    require(payment["status"] == "pending", f"payment is {payment['status']}")
    require(ctx.sender not in payment["approvals"], "already approved by this approver")
    payment["approvals"].append(ctx.sender)
    emit(
        "approved", payment_id=payment_id, approver=ctx.sender, approvals=len(payment["approvals"])
    )
    if len(payment["approvals"]) >= config["threshold"]:
        paid_key = _paid_key(payment["commitment"], payment["period"])
        require(paid_key not in storage, "household already paid this period")
        transfer(config["bank"], payment["amount"])
        storage[paid_key] = payment_id
        payment["status"] = "paid"
        payment["paid_at"] = ctx.time
        storage["paid_total"] += payment["amount"]
        storage["payments"] += 1
        emit(
            "paid",
            payment_id=payment_id,
            commitment=payment["commitment"],
            amount=payment["amount"],
            period=payment["period"],
            bank=config["bank"],
        )
    storage[key] = payment
    return payment["status"]


def reject(payment_id, reason):
    config = storage["config"]
    require(ctx.sender in config["approvers"], "only an approver may reject")
    key = "p:" + payment_id
    require(key in storage, "unknown payment")
    payment = storage[key]
    require(payment["status"] == "pending", f"payment is {payment['status']}")
    payment["status"] = "rejected"
    payment["reason"] = str(reason)[:200]
    storage[key] = payment
    emit("rejected", payment_id=payment_id)
    return "rejected"


def payment(payment_id):
    return storage.get("p:" + payment_id)


def paid(commitment, period):
    """The payment id that paid this household in this period, or None."""
    return storage.get(_paid_key(commitment, period))


def summary():
    config = storage["config"]
    return {
        "balance": balance(ctx.contract),
        "paid_total": storage["paid_total"],
        "payments": storage["payments"],
        "threshold": config["threshold"],
        "household_cap": config["household_cap"],
        "window": [config["starts_at"], config["ends_at"]],
    }


def _check_window(config):
    require(
        config["starts_at"] <= ctx.time < config["ends_at"], "outside the program's time window"
    )


def _paid_key(commitment, period):
    return "paid:" + commitment + ":" + period


def _unique(items):
    seen = {}
    for item in items:
        seen[item] = True
    return list(seen)


def _is_hex64(value):
    if not isinstance(value, str) or len(value) != 64:
        return False
    for ch in value:
        if ch not in "0123456789abcdef":
            return False
    return True
