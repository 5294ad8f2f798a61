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
    start = system.manifest.deploy_block
    if system.chain.embedded:
        logs = _embedded_logs(system, contract.address, start)
    else:
        found = system.chain.client.request("eth_getLogs", [{
            "address": contract.address, "fromBlock": hex(start), "toBlock": "latest",
            "topics": ["0x" + topic.hex()]}])
        logs = [Log.of(log) for log in found]
    decoded = (contract.event_of(log) for log in logs if log.topics and log.topics[0] == topic)
    return [e for e in decoded if e is not None
            and all(e.args[key] == value for key, value in filters.items())]


def _embedded_logs(system: System, address: str, start: int) -> list[Log]:
    chain = system.chain.w3.provider.ethereum_tester.backend.chain  # type: ignore[attr-defined]
    wanted = bytes.fromhex(address[2:])
    found: list[Log] = []
    head = chain.get_canonical_head().block_number
    for number in range(start, head + 1):
        block = chain.get_canonical_block_by_number(number)
        index = 0
        for transaction, receipt in zip(block.transactions, block.get_receipts(chain.chaindb),
                                        strict=True):
            for log in receipt.logs:
                if bytes(log.address) == wanted:
                    found.append(Log(address, tuple(t.to_bytes(32, "big") for t in log.topics),
                                     bytes(log.data), number, index, bytes(transaction.hash)))
                index += 1
    return found
