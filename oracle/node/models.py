"""What the node's HTTP API answers; the request body is `oracle.attestation.Attestation`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from chain.verdict import Fault

FaultName = Literal["none", "buyer", "provider"]
FAULT_NAMES: dict[Fault, FaultName] = {
    Fault.NONE: "none",
    Fault.BUYER: "buyer",
    Fault.PROVIDER: "provider",
}


class ClausePublic(BaseModel):
    id: str = Field(description="Stable clause id, e.g. `regulator.epsilon_claim`.")
    reason: str
    fault: FaultName


class VerdictBase(BaseModel):
    job: str = Field(description="The job id, a 0x-prefixed bytes32.")
    verdict: Literal["compliant", "violation"]
    clauses: list[ClausePublic] = Field(description="The clauses that failed.")
    fault: FaultName


class VerdictPublic(VerdictBase):
    """A signed verdict, with everything needed to rebuild its EIP-712 digest and recover."""

    nonce: str
    epsilon: float = Field(description="ε as the node recomputed it from the mechanism.")
    clauses_hash: str
    config_digest: str
    chain_id: int
    policy_oracle: str
    signer: str
    signature: str = Field(description="65-byte r ‖ s ‖ v over the EIP-712 Verdict, hex.")


class PricePublic(BaseModel):
    """A signed price report on a round's final allocation: the Ethical Pricing Function
    recomputed by this node from the chain's events, with everything needed to rebuild its
    EIP-712 digest (`chain/prices.py`) and recover the signer."""

    clearing_house: str
    round: int
    result_version: int
    item_prices_micro_usd: list[int] = Field(description="One per item of the round.")
    payments_micro_usd: list[int] = Field(description="One per fill, in the result's order.")
    config_digest: str
    chain_id: int
    policy_oracle: str
    signer: str
    signature: str = Field(description="65-byte r ‖ s ‖ v over the EIP-712 PriceReport, hex.")


class ErrorPublic(BaseModel):
    detail: str = Field(description="`<check>: <why>`.")
    check: str = Field(description="The check that failed, e.g. `signature`, `cert_chain`.")


class ReplayPublic(ErrorPublic):
    verdict: VerdictPublic = Field(description="The verdict signed the first time.")


class HealthPublic(BaseModel):
    status: Literal["ok"]
    node: str
    signer: str
    verdicts: int
    chain_id: int
    policy_oracle: str
    config_digest: str
