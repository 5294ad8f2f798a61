"""Deploy the whole system, wire its roles, and write the deployment manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.compiler import artifact
from chain.connection import Chain
from chain.manifest import DeployedContract, Manifest, save_manifest
from chain.policy import ChainPolicy
from chain.system import System

if TYPE_CHECKING:
    from chain.contract import Contract
    from chain.signer import Signer

LOCAL_CHAIN_IDS = {31337, 1337, 131277322940537}


@dataclass(frozen=True)
class Parameters:
    """Launch parameters; the regulator can change each one later on-chain."""

    # Reputation: scores in micro-USD at risk (an audit is worth its job's payment × risk).
    fail_multiple: int = 3
    max_score_micro_usd: int = 100_000 * 10**6
    counterparty_cap_micro_usd: int = 10_000 * 10**6
    max_discount_bps: int = 5_000
    half_discount_micro_usd: int = 20_000 * 10**6
    cst_wei_per_micro_usd: int = 10**12  # 1 CST staked per 1 USD of notional at risk
    unbonding_delay_seconds: int = 7 * 24 * 3600
    futures_uri: str = "rcm://futures/{id}.json"  # ERC-1155 metadata; clients substitute {id}
    budgets_uri: str = "rcm://budgets/{id}.json"
    exchange_fee_bps: int = 0  # of each trade's price, to the treasury; at most 100 (1 %)


def _role(contract: Contract, name: str) -> bytes:
    return bytes(getattr(contract.functions, name)().call())


def deploy_system(
    chain: Chain,
    governance: Signer,
    payment_token: str | None = None,
    parameters: Parameters = Parameters(),
    policy: ChainPolicy | None = None,
) -> System:
    """Deploys every contract from `governance`. TestUSD is deployed as the payment token on
    local chains only; elsewhere pass the real stablecoin's address. `policy`, when given, is
    registered as the first round policy (governance holds the regulator's role); without one
    no round opens until the regulator sets one."""
    if payment_token is None and chain.chain_id not in LOCAL_CHAIN_IDS:
        from chain.errors import ChainError

        raise ChainError(
            f"chain {chain.chain_id} is not a local chain: pass the payment token's address"
        )
    start_block = chain.block_number() + 1
    deployed: dict[str, Contract] = {}
    if payment_token is None:
        deployed["TestUSD"] = chain.deploy("TestUSD", governance, governance.address)
        payment_token = deployed["TestUSD"].address
    cst = deployed["ComputeSafetyToken"] = chain.deploy(
        "ComputeSafetyToken", governance, governance.address
    )
    reputation = deployed["ReputationRegistry"] = chain.deploy(
        "ReputationRegistry",
        governance,
        governance.address,
        (
            parameters.fail_multiple,
            parameters.max_score_micro_usd,
            parameters.counterparty_cap_micro_usd,
            parameters.max_discount_bps,
            parameters.half_discount_micro_usd,
        ),
    )
    vault = deployed["SafetyVault"] = chain.deploy(
        "SafetyVault",
        governance,
        governance.address,
        cst.address,
        reputation.address,
        parameters.cst_wei_per_micro_usd,
        parameters.unbonding_delay_seconds,
    )
    oracle = deployed["PolicyOracle"] = chain.deploy("PolicyOracle", governance, governance.address)
    ledger = deployed["PrivacyBudgetLedger"] = chain.deploy(
        "PrivacyBudgetLedger", governance, governance.address, payment_token, parameters.budgets_uri
    )
    futures = deployed["ComputeFutures"] = chain.deploy(
        "ComputeFutures", governance, governance.address, parameters.futures_uri
    )
    policies = deployed["PolicyRegistry"] = chain.deploy(
        "PolicyRegistry", governance, governance.address
    )
    # The clearing house's two modules share its constructor's arguments (they read the same
    # immutables); the clearing house runs them on its own storage.
    shared = (
        governance.address,
        vault.address,
        reputation.address,
        oracle.address,
        ledger.address,
        futures.address,
        payment_token,
        governance.address,  # treasury: receives forfeits
    )
    results = deployed["ClearingHouseResults"] = chain.deploy(
        "ClearingHouseResults", governance, *shared
    )
    delivery = deployed["ClearingHouseDelivery"] = chain.deploy(
        "ClearingHouseDelivery", governance, *shared
    )
    clearing_house = deployed["ClearingHouse"] = chain.deploy(
        "ClearingHouse",
        governance,
        *shared,
        policies.address,
        results.address,
        delivery.address,
    )
    exchange = deployed["FuturesExchange"] = chain.deploy(
        "FuturesExchange",
        governance,
        governance.address,
        clearing_house.address,
        futures.address,
        payment_token,
    )
    grants: list[tuple[Contract, str, str]] = [
        (cst, "BURNER_ROLE", vault.address),
        (vault, "CLEARING_ROLE", clearing_house.address),
        (vault, "ORACLE_ROLE", clearing_house.address),
        (reputation, "AUDITOR_ROLE", clearing_house.address),
        (oracle, "CONSUMER_ROLE", clearing_house.address),
        (ledger, "CLEARING_ROLE", clearing_house.address),
        (futures, "CLEARING_ROLE", clearing_house.address),
        # Governance opens rounds and posts results itself (a bond still needed to post): the
        # round commands run as governance on local chains.
        (clearing_house, "AUCTIONEER_ROLE", governance.address),
    ]
    for contract, role, holder in grants:
        chain.send(contract.functions.grantRole(_role(contract, role), holder), governance)
    # The treasury receives the exchange's fees, as it does forfeits.
    chain.send(exchange.functions.setFee(governance.address, parameters.exchange_fee_bps),
               governance)
    if policy is not None:
        chain.send(policies.functions.setPolicy(policy.as_args()), governance)

    manifest = Manifest(
        chain_id=chain.chain_id,
        deploy_block=start_block,
        governance=governance.address,
        payment_token=payment_token,
        contracts={
            name: DeployedContract(address=c.address, abi_hash=artifact(name).abi_hash)
            for name, c in deployed.items()
        },
    )
    save_manifest(manifest)
    return System(chain, manifest)
