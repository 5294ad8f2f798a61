"""Contract handles loaded from the deployment manifest, checked against the chain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from chain.compiler import interface
from chain.connection import Chain
from chain.contract import Contract
from chain.errors import ChainError, StaleDeployment
from chain.manifest import Manifest, load_manifest


@dataclass
class System:
    chain: Chain
    manifest: Manifest

    @classmethod
    def load(cls, chain: Chain) -> System:
        """The deployment recorded for this chain; a stale one (no code at an address, e.g.
        after a Hardhat restart, or an ABI that changed since) stops with a clear error."""
        manifest = load_manifest(chain.chain_id)
        deployed = manifest.contracts
        codes = chain.codes([contract.address for contract in deployed.values()])
        for (name, contract), code in zip(deployed.items(), codes, strict=True):
            if not code:
                raise StaleDeployment(
                    f"deployment manifest for chain {chain.chain_id} is stale: no code at "
                    f"{contract.address} ({name}); was the node restarted?"
                )
        for name, contract in deployed.items():
            if interface(name).abi_hash != contract.abi_hash:
                raise StaleDeployment(
                    f"deployment manifest for chain {chain.chain_id} is stale: {name}'s ABI "
                    "changed since it was deployed"
                )
        return cls(chain, manifest)

    def contract(self, name: str) -> Contract:
        deployed = self.manifest.contracts.get(name)
        if deployed is None:
            raise ChainError(f"{name} is not part of the deployment on chain {self.chain.chain_id}")
        return self.chain.contract(deployed.address, interface(name).abi)

    @cached_property
    def cst(self) -> Contract:
        return self.contract("ComputeSafetyToken")

    @cached_property
    def usd(self) -> Contract:
        """TestUSD, deployed on local chains only (so it can mint)."""
        return self.contract("TestUSD")

    @cached_property
    def payment_token(self) -> Contract:
        """The ERC-20 payments settle in: TestUSD locally, USDC on a real network."""
        return self.chain.contract(self.manifest.payment_token, interface("TestUSD").abi)

    @cached_property
    def reputation(self) -> Contract:
        return self.contract("ReputationRegistry")

    @cached_property
    def vault(self) -> Contract:
        return self.contract("SafetyVault")

    @cached_property
    def oracle(self) -> Contract:
        return self.contract("PolicyOracle")

    @cached_property
    def ledger(self) -> Contract:
        return self.contract("PrivacyBudgetLedger")

    @cached_property
    def futures(self) -> Contract:
        return self.contract("ComputeFutures")

    @cached_property
    def policies(self) -> Contract:
        return self.contract("PolicyRegistry")

    @cached_property
    def clearing_house(self) -> Contract:
        return self.contract("ClearingHouse")

    @cached_property
    def exchange(self) -> Contract:
        return self.contract("FuturesExchange")
