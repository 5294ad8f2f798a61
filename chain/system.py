"""Contract handles loaded from the deployment manifest, checked against the chain."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chain.compiler import artifact
from chain.connection import Chain
from chain.errors import ChainError
from chain.manifest import Manifest, load_manifest

if TYPE_CHECKING:
    from web3.contract import Contract


@dataclass
class System:
    chain: Chain
    manifest: Manifest

    @classmethod
    def load(cls, chain: Chain) -> System:
        """The deployment recorded for this chain; a stale one (no code at an address, e.g.
        after a Hardhat restart, or an ABI that changed since) stops with a clear error."""
        manifest = load_manifest(chain.chain_id)
        for name, deployed in manifest.contracts.items():
            if chain.w3.eth.get_code(chain.w3.to_checksum_address(deployed.address)) in (b"", "0x"):
                raise ChainError(
                    f"deployment manifest for chain {chain.chain_id} is stale: no code at "
                    f"{deployed.address} ({name}); was the node restarted? Redeploy with "
                    "`rcm testnet start` or `rcm deploy`"
                )
            if artifact(name).abi_hash != deployed.abi_hash:
                raise ChainError(
                    f"deployment manifest for chain {chain.chain_id} is stale: {name}'s ABI "
                    "changed since it was deployed; redeploy with `rcm deploy`"
                )
        return cls(chain, manifest)

    def contract(self, name: str) -> Contract:
        deployed = self.manifest.contracts.get(name)
        if deployed is None:
            raise ChainError(f"{name} is not part of the deployment on chain {self.chain.chain_id}")
        address = self.chain.w3.to_checksum_address(deployed.address)
        return self.chain.w3.eth.contract(address=address, abi=artifact(name).abi)

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
        address = self.chain.w3.to_checksum_address(self.manifest.payment_token)
        return self.chain.w3.eth.contract(address=address, abi=artifact("TestUSD").abi)

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
