"""The verdict: the promise judged against the channel's own records.

Inputs are what the doors show: Paycenter's orders (with payments and refunds) from the partner
API, the channels' own lines of the run's trades (the sandbox's statements, the emulators'
ledgers), and Paycenter's answers during the run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FINAL_ORDER = {"PAID", "CLOSED", "REFUNDED"}
FINAL_PAYMENT = {"SUCCEEDED", "FAILED", "CLOSED"}
FINAL_REFUND = {"SUCCEEDED", "FAILED"}


@dataclass(frozen=True)
class Clock:
    """When the verdict is taken, and how long past an order's expiry Paycenter may still wait
    to learn an attempt's fate (CHANNEL_CLOCK_SKEW_SECONDS: a channel's "no such trade" is
    final only then, since a create that did not answer may still arrive there)."""

    now: datetime
    skew: timedelta


@dataclass
class Verdict:
    figures: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    # open attempts the channel has no record of, whose fate cannot be known before this time
    undecidable_until: dict[str, datetime] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return not self.violations

    @property
    def undecidable(self) -> list[str]:
        """Each attempt not yet decidable, and when to judge it again."""
        return [
            f"{out_trade_no} open, took no money: decidable after"
            f" {decidable_at:%Y-%m-%d %H:%M:%S} UTC (judge it again then: --check-only)"
            for out_trade_no, decidable_at in sorted(self.undecidable_until.items())
        ]


@dataclass(frozen=True)
class Ledger:
    """The channels' record of the run's trades: captured amount and refund amounts by trade."""

    captured: dict[str, int]
    refunds: dict[str, list[int]]

    @classmethod
    def from_lines(cls, lines: list[dict[str, str]], out_trade_nos: set[str]) -> Ledger:
        captured: dict[str, int] = {}
        refunds: dict[str, list[int]] = defaultdict(list)
        for line in lines:
            out_trade_no = line["out_trade_no"]
            if out_trade_no not in out_trade_nos:
                continue  # another run's or another client's trade
            if line["type"] == "payment":
                captured[out_trade_no] = captured.get(out_trade_no, 0) + int(line["amount"])
            elif line["type"] == "refund":
                refunds[out_trade_no].append(int(line["amount"]))
        return cls(captured, dict(refunds))


def judge(orders: list[dict], ledger: Ledger, answers: dict[str, int], clock: Clock) -> Verdict:
    verdict = Verdict()
    for order in orders:
        _judge_order(order, ledger, verdict, clock)
    captured = sum(ledger.captured.values())
    refunded = sum(sum(amounts) for amounts in ledger.refunds.values())
    paid = [order for order in orders if order["status"] == "PAID"]
    paid_total = sum(order["amount"] for order in paid)
    if captured - refunded != paid_total:
        verdict.violations.append(
            f"money not conserved: captured {captured} - refunded {refunded}"
            f" != paid orders {paid_total}"
        )
    errors = answers.get("error", 0) + answers.get("unanswered", 0)
    if errors:
        verdict.violations.append(
            f"{errors} answers were a 5xx, or none, other than the API's 503 channel_unavailable"
        )
    if callback_errors := answers.get("callback error", 0):
        verdict.violations.append(f"{callback_errors} callbacks were answered 5xx, or not at all")
    verdict.figures.update(
        {
            "orders": len(orders),
            "orders paid": len(paid),
            "orders closed": sum(order["status"] == "CLOSED" for order in orders),
            "payments": sum(len(order["payments"]) for order in orders),
            "channel captures": len(ledger.captured),
            "captured (minor units)": captured,
            "channel refunds": sum(len(amounts) for amounts in ledger.refunds.values()),
            "refunded (minor units)": refunded,
            "paid orders (minor units)": paid_total,
            "answers ok": answers.get("ok", 0),
            "answers 503 channel_unavailable": answers.get("channel down", 0),
            "answers 5xx otherwise or none": errors,
            "callbacks answered below 500": answers.get("callback ok", 0),
            "callbacks answered 5xx or not": answers.get("callback error", 0),
            "open attempts not yet decidable": len(verdict.undecidable_until),
        }
    )
    extras = [
        out_trade_no
        for order in orders
        for out_trade_no in _captured_trades(order, ledger)
        if not _is_winner(order, out_trade_no)
    ]
    verdict.figures["extra successes"] = len(extras)
    verdict.figures["extra successes refunded once"] = sum(
        ledger.refunds.get(t) == [ledger.captured[t]] for t in extras
    )
    return verdict


def _judge_order(order: dict, ledger: Ledger, verdict: Verdict, clock: Clock) -> None:
    name = order["id"]
    trades = _captured_trades(order, ledger)
    if order["status"] not in FINAL_ORDER:
        verdict.violations.append(f"{name} left open ({order['status']})")
    decidable_at = datetime.fromisoformat(order["expires_at"]) + clock.skew
    for payment in order["payments"]:
        if payment["status"] in FINAL_PAYMENT:
            continue
        out_trade_no = payment["out_trade_no"]
        if _undecidable(order, out_trade_no, ledger) and clock.now < decidable_at:
            verdict.undecidable_until[out_trade_no] = decidable_at
        else:
            verdict.violations.append(f"{out_trade_no} left open ({payment['status']})")
    for refund in order["refunds"]:
        if refund["status"] not in FINAL_REFUND:
            verdict.violations.append(f"{refund['out_refund_no']} unfinished ({refund['status']})")
    if trades and order["status"] != "PAID" and not all(_refunded_once(t, ledger) for t in trades):
        verdict.violations.append(f"{name} paid at the channel but lost ({order['status']})")
    for out_trade_no in trades:
        refunds = ledger.refunds.get(out_trade_no, [])
        if sum(refunds) > ledger.captured[out_trade_no]:
            verdict.violations.append(
                f"{out_trade_no} refunded {sum(refunds)}, above what was paid"
            )
        if _is_winner(order, out_trade_no):
            continue
        if not refunds:
            verdict.violations.append(f"{out_trade_no} an extra success never refunded")
        elif len(refunds) > 1:
            verdict.violations.append(f"{out_trade_no} refunded {len(refunds)} times")
    for payment in order["payments"]:
        if payment["out_trade_no"] in ledger.refunds and payment["out_trade_no"] not in trades:
            verdict.violations.append(
                f"{payment['out_trade_no']} refunded, above what was paid (nothing)"
            )


def _undecidable(order: dict, out_trade_no: str, ledger: Ledger) -> bool:
    """An open attempt of a settled order that took no money: the channel has no trade (its
    create never answered) or one still payable, and Paycenter keeps asking until the order's
    expiry plus the clock skew — only then is the attempt's fate known."""
    return order["status"] in FINAL_ORDER and out_trade_no not in ledger.captured


def _captured_trades(order: dict, ledger: Ledger) -> list[str]:
    return [p["out_trade_no"] for p in order["payments"] if p["out_trade_no"] in ledger.captured]


def _is_winner(order: dict, out_trade_no: str) -> bool:
    winner = next((p for p in order["payments"] if p["id"] == order["paid_payment"]), None)
    return (
        order["status"] == "PAID" and winner is not None and winner["out_trade_no"] == out_trade_no
    )


def _refunded_once(out_trade_no: str, ledger: Ledger) -> bool:
    return ledger.refunds.get(out_trade_no) == [ledger.captured[out_trade_no]]
