from __future__ import annotations

from market.examples import CLEARING_TIME, consortium_instance
from market.result import LossReason, Status
from market.wdp import SolveParams, clear


def test_consortium_clears_to_a_proven_optimum_with_every_loss_reason() -> None:
    result = clear(consortium_instance(), CLEARING_TIME, SolveParams(time_limit=20.0,
                                                                     workers=1))
    assert result.status is Status.OPTIMAL and result.gap == 0.0
    assert {fill.bid for fill in result.allocation} == {
        "nhs-sepsis-warning", "msf-outbreak-forecast", "pasteur-amr-discovery",
        "helixgen-llm-finetune", "quantedge-backtest"}
    # `malformed` and `unselected` come only from rounds read back from the chain
    # (tests/market/test_settlement_service.py).
    assert {loss.reason for loss in result.losing} == set(LossReason) - {
        LossReason.MALFORMED, LossReason.UNSELECTED}
    assert result.welfare == 47_940 * 1_000_000
