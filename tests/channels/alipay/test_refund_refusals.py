"""A refund refusal is final only in a word Alipay documents as one: any other code (a rate limit
on refund calls, a balance short for now, a code we do not know) is unknown, asked again later,
and never becomes a FAILED refund after a refund query finds nothing."""

import pytest

from payments.channels.alipay.client import REFUND_REFUSALS, raise_for_answer
from payments.channels.base import ChannelError, ChannelUnavailable

REFUND = "alipay.trade.refund"


def refusal(sub_code: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": "…"}


@pytest.mark.parametrize("sub_code", sorted(REFUND_REFUSALS))
def test_a_documented_refund_refusal_is_a_channel_error(sub_code):
    with pytest.raises(ChannelError) as refused:
        raise_for_answer(REFUND, refusal(sub_code), definite=REFUND_REFUSALS)

    assert refused.value.code == sub_code


@pytest.mark.parametrize(
    "sub_code", ["ACQ.SELLER_BALANCE_NOT_ENOUGH", "ACQ.SOMETHING_NEW", "aop.ACQ.SYSTEM_ERROR"]
)
def test_any_other_refund_refusal_is_unknown(sub_code):
    with pytest.raises(ChannelUnavailable):
        raise_for_answer(REFUND, refusal(sub_code), definite=REFUND_REFUSALS)


def test_a_success_is_the_answer():
    answer = {"code": "10000", "msg": "Success", "fund_change": "Y"}

    assert raise_for_answer(REFUND, answer, definite=REFUND_REFUSALS) is answer
