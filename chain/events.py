"""Reading a deployment's history from its events: what indexers and the CLI rebuild state from.

On a JSON-RPC node this is `eth_getLogs`. On the embedded chain the receipts are read block by
block straight from py-evm's database: eth-tester's own log filter looks every transaction up
by hash with a scan back from the head, quadratic in the chain's length (seconds per query
after a few hundred blocks), where a walk over the blocks is linear.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hexbytes import HexBytes

if TYPE_CHECKING:
    from web3.contract import Contract
    from web3.types import EventData, LogReceipt

    from chain.system import System


def events(system: System, contract: Contract, name: str, **filters: Any) -> list[EventData]:
    """Every `name` event `contract` emitted since the deployment, oldest first, whose indexed
    arguments equal `filters`."""
    event = getattr(contract.events, name)()
    start = system.manifest.deploy_block
    if not system.chain.embedded:
        return list(event.get_logs(from_block=start, to_block="latest",
                                   argument_filters=filters or None))
    topic = HexBytes(event.topic)
    decoded = (event.process_log(log) for log in _embedded_logs(system, contract.address, start)
               if log["topics"] and log["topics"][0] == topic)
    return [e for e in decoded if all(e["args"][k] == v for k, v in filters.items())]


def _embedded_logs(system: System, address: str, start: int) -> list[LogReceipt]:
    chain = system.chain.w3.provider.ethereum_tester.backend.chain  # type: ignore[attr-defined]
    wanted = HexBytes(address)
    found: list[LogReceipt] = []
    head = int(system.chain.w3.eth.block_number)
    for number in range(start, head + 1):
        block = chain.get_canonical_block_by_number(number)
        index = 0
        for position, (transaction, receipt) in enumerate(
                zip(block.transactions, block.get_receipts(chain.chaindb), strict=True)):
            for log in receipt.logs:
                if HexBytes(log.address) == wanted:
                    entry: Any = {
                        "address": system.chain.w3.to_checksum_address(log.address),
                        "topics": [HexBytes(t.to_bytes(32, "big")) for t in log.topics],
                        "data": HexBytes(log.data), "logIndex": index,
                        "transactionIndex": position, "transactionHash": HexBytes(transaction.hash),
                        "blockHash": HexBytes(block.hash), "blockNumber": number,
                        "removed": False}
                    found.append(entry)
                index += 1
    return found
