"""Calls into PolicyOracle: register the oracle set, submit a k-of-n verdict, and read who may
sign and where a job stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chain.eip712 import Domain
from chain.system import System
from chain.verdict import Verdict, verdict_domain, verdict_message

if TYPE_CHECKING:
    from chain.contract import Receipt
    from chain.signer import Signer


@dataclass(frozen=True)
class OracleSet:
    """Who may sign for the oracle now: the registered signers (lower-case), k, and the EIP-712
    domain their verdicts and price reports are signed under."""

    domain: Domain
    members: frozenset[str]
    threshold: int

    @classmethod
    def read(cls, system: System) -> OracleSet:
        oracle = system.oracle.functions
        return cls(verdict_domain(system.chain.chain_id, system.oracle.address),
                   frozenset(signer.lower() for signer in oracle.signers().call()),
                   int(oracle.threshold().call()))


def signers_at(system: System, block: int) -> list[str]:
    """The registered signers as of `block`, in the order a verdict's signer bitmap counts
    them (a later `setConfig` replaces them)."""
    return [str(signer) for signer in
            system.oracle.functions.signers().call(block=hex(block))]


def consumer_of(system: System, job_id: bytes) -> str:
    """The contract that opened the job and takes its verdict; the zero address for a job never
    opened."""
    return str(system.oracle.functions.consumerOf(job_id).call())


def is_decided(system: System, job_id: bytes) -> bool:
    """Whether the job's verdict is recorded."""
    return bool(system.oracle.functions.isDecided(job_id).call())


def verdict_args(verdict: Verdict) -> tuple[bytes, bool, int, bytes, bytes]:
    message = verdict_message(verdict)
    return (
        message["jobId"],
        message["compliant"],
        message["fault"],
        message["clausesHash"],
        message["configDigest"],
    )


def signature_args(signatures: list[tuple[str, bytes]]) -> list[tuple[bytes, bytes, int]]:
    """(signer, 65-byte signature) pairs as the contract takes them: (r, s, v), ordered by
    ascending signer address so no signer counts twice."""
    order = {address: i for i, address in enumerate(by_address([a for a, _ in signatures]))}
    ordered = sorted(signatures, key=lambda pair: order[pair[0]])
    return [(sig[:32], sig[32:64], sig[64]) for _, sig in ordered]


def by_address(addresses: list[str]) -> list[str]:
    """Ascending by numeric value, the order the contract requires (not string order)."""
    return sorted(addresses, key=lambda address: int(address, 16))


def register(system: System, governance: Signer, signers: list[str], threshold: int) -> bytes:
    """Sets the oracle set and k; returns the new configuration digest."""
    set_config(system, governance, signers, threshold)
    return config_digest(system)


def set_config(system: System, governance: Signer, signers: list[str], threshold: int
               ) -> Receipt:
    """Sets the oracle set and k."""
    call = system.oracle.functions.setConfig(by_address(signers), threshold)
    return system.chain.send(call, governance)


def config_digest(system: System) -> bytes:
    return bytes(system.oracle.functions.configDigest().call())


def submit(
    system: System, sender: Signer, verdict: Verdict, signatures: list[tuple[str, bytes]]
) -> Receipt:
    call = system.oracle.functions.submitVerdict(verdict_args(verdict), signature_args(signatures))
    return system.chain.send(call, sender)
