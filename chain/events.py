"""Reading a deployment's history from its events: what indexers and the CLI rebuild state from.

On a JSON-RPC node this is `eth_getLogs`. On the embedded chain the receipts are read block by
block straight from py-evm's database: eth-tester's own log filter looks every transaction up
by hash with a scan back from the head, quadratic in the chain's length (seconds per query
after a few hundred blocks), where a walk over the blocks is linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain.contract import Contract, Event, Log

if TYPE_CHECKING:
    from chain.system import System


def events(system: System, contract: Contract, name: str, **filters: Any) -> list[Event]:
    """Every `name` event `contract` emitted since the deployment, oldest first, whose
    arguments equal `filters`."""
    topic = contract.topic(name)
    return [event for _, event in _decoded(system, [contract], topic)
            if all(event.args[key] == value for key, value in filters.items())]


def emitted(system: System, contracts: list[Contract]) -> list[tuple[Contract, Event]]:
    """Every event any of `contracts` emitted since the deployment, with its emitter, oldest
    first: one query for them all."""
    return _decoded(system, contracts, None)


def emitted_between(system: System, contracts: list[Contract], first_block: int,
                    last_block: int) -> list[tuple[Contract, Event]]:
    """Every event any of `contracts` emitted in blocks `first_block` to `last_block`
    (inclusive), with its emitter, oldest first: what an indexer follows the chain by."""
    return _decoded(system, contracts, None, first_block, last_block)


def _decoded(system: System, contracts: list[Contract], topic: bytes | None,
             first_block: int | None = None, last_block: int | None = None
             ) -> list[tuple[Contract, Event]]:
    by_address = {contract.address: contract for contract in contracts}
    start = system.manifest.deploy_block if first_block is None else first_block
    if system.chain.embedded:
        logs = _embedded_logs(system, set(by_address), start, last_block)
    else:
        query: dict[str, Any] = {"address": list(by_address), "fromBlock": hex(start),
                                 "toBlock": "latest" if last_block is None else hex(last_block)}
        if topic is not None:
            query["topics"] = ["0x" + topic.hex()]
        logs = [Log.of(log) for log in system.chain.client.request("eth_getLogs", [query])]
    found = []
    for log in sorted(logs, key=lambda log: (log.block_number, log.log_index)):
        if topic is not None and (not log.topics or log.topics[0] != topic):
            continue
        contract = by_address.get(log.address)
        event = contract.event_of(log) if contract is not None else None
        if contract is not None and event is not None:
            found.append((contract, event))
    return found


def _embedded_logs(system: System, addresses: set[str], start: int, end: int | None = None
                   ) -> list[Log]:
    chain = system.chain.w3.provider.ethereum_tester.backend.chain  # type: ignore[attr-defined]
    wanted = {bytes.fromhex(address[2:]): address for address in addresses}
    found: list[Log] = []
    head = chain.get_canonical_head().block_number
    for number in range(start, (head if end is None else min(end, head)) + 1):
        block = chain.get_canonical_block_by_number(number)
        index = 0
        for transaction, receipt in zip(block.transactions, block.get_receipts(chain.chaindb),
                                        strict=True):
            for log in receipt.logs:
                address = wanted.get(bytes(log.address))
                if address is not None:
                    found.append(Log(address, tuple(t.to_bytes(32, "big") for t in log.topics),
                                     bytes(log.data), number, index, bytes(transaction.hash)))
                index += 1
    return found
