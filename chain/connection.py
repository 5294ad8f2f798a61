"""A connection to an EVM chain: the embedded eth-tester (py-evm) chain or any JSON-RPC URL.

Transactions are built, signed and sent here without web3 (a second to import): JSON-RPC through
`chain.rpc`, call data through `chain.abi_codec`. web3 itself is there for tests and tools that
want it (`Chain.w3`), and runs the embedded chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chain.config import EMBEDDED
from chain.contract import Contract, ContractCall, Receipt
from chain.errors import ChainError, InsufficientGas
from chain.rpc import RpcClient, RpcError, quantity

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from chain.signer import Signer

# Public, well-known development keys. TEST-ONLY: anyone can spend from them.
HARDHAT_TEST_MNEMONIC = "test test test test test test test test test test test junk"
GAS_MARGIN = 1.25
PRIORITY_FEE_WEI = 10**9


@dataclass
class Chain:
    client: RpcClient
    rpc: str
    chain_id: int
    _w3: Web3 | None = None

    @property
    def embedded(self) -> bool:
        return self.rpc == EMBEDDED

    @property
    def w3(self) -> Web3:
        """web3 on the same chain, imported on first use."""
        if self._w3 is None:
            from web3 import HTTPProvider, Web3

            self._w3 = Web3(HTTPProvider(self.rpc, request_kwargs={"timeout": 10}))
        return self._w3

    def contract(self, address: str, abi: list[dict[str, Any]]) -> Contract:
        return Contract(self.client, address, abi)

    def codes(self, addresses: list[str]) -> list[bytes]:
        """The code deployed at each address: one JSON-RPC batch, not a round trip each."""
        return self.client.codes(addresses)

    def balance(self, address: str) -> int:
        """The account's ether, in wei."""
        return self.client.balance(address)

    def pending_nonce(self, address: str) -> int:
        """The nonce of the account's next transaction, counting those not yet mined."""
        return quantity(self.client.request("eth_getTransactionCount", [address, "pending"]))

    def dev_account(self, index: int = 0) -> LocalAccount:
        """A pre-funded development account of this chain. TEST-ONLY: its key is public."""
        from eth_account import Account

        if self.embedded:
            return Account.from_key((index + 1).to_bytes(32, "big"))
        Account.enable_unaudited_hdwallet_features()
        return Account.from_mnemonic(HARDHAT_TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")

    def send(self, call: ContractCall, sender: Signer, value: int = 0) -> Receipt:
        """Sign `call` locally and send it. A call that would revert raises `Reverted` with
        the decoded custom error, and nothing is sent."""
        return self._transact(sender, call.address, call.data, value)

    def estimate_gas(self, call: ContractCall, sender: str) -> int:
        """The gas `call` sent by `sender` would use; a revert raises `Reverted`."""
        from chain.reverts import decode_revert

        transaction = {"from": sender, "to": call.address, "data": "0x" + call.data.hex()}
        try:
            return quantity(self.client.request("eth_estimateGas", [transaction]))
        except RpcError as exc:
            raise decode_revert(exc) from exc

    def deploy(self, name: str, sender: Signer, *args: Any) -> Contract:
        from chain.abi_codec import encode, type_string
        from chain.compiler import artifact

        compiled = artifact(name)
        constructor = next((e for e in compiled.abi if e["type"] == "constructor"), None)
        inputs = [type_string(p) for p in constructor["inputs"]] if constructor else []
        code = bytes.fromhex(compiled.bytecode.removeprefix("0x")) + encode(inputs, args)
        receipt = self._transact(sender, None, code, 0)
        assert receipt.contract_address is not None  # a mined creation has its address
        return self.contract(receipt.contract_address, compiled.abi)

    def transfer_eth(self, sender: Signer, to: str, amount_wei: int) -> Receipt:
        return self._transact(sender, to, b"", amount_wei)

    def block_number(self) -> int:
        return quantity(self.client.request("eth_blockNumber", []))

    def latest_timestamp(self) -> int:
        return quantity(self.client.block("latest")["timestamp"])

    def block_timestamps(self, numbers: list[int]) -> dict[int, int]:
        """Each block's timestamp by its number: one JSON-RPC batch."""
        wanted = sorted(set(numbers))
        found = self.client.batch([("eth_getBlockByNumber", [hex(n), False]) for n in wanted])
        return {n: quantity(block["timestamp"]) for n, block in zip(wanted, found, strict=True)}

    def pending_timestamp(self) -> int:
        """When the next transaction runs: the pending block's timestamp (the embedded chain's
        time travel moves it without mining a block)."""
        return quantity(self.client.block("pending")["timestamp"])

    def gas_limit(self) -> int:
        """The latest block's gas limit."""
        return quantity(self.client.block("latest")["gasLimit"])

    def advance_time(self, seconds: int) -> int:
        """Moves chain time forward and mines a block; returns the new block timestamp."""
        if self.embedded:
            self._tester().time_travel(self.latest_timestamp() + seconds)
        else:
            self.client.request("evm_increaseTime", [seconds])
            self.client.request("evm_mine", [])
        return self.latest_timestamp()

    def snapshot(self) -> Any:
        if self.embedded:
            return self._tester().take_snapshot()
        return self.client.request("evm_snapshot", [])

    def revert_to(self, snapshot_id: Any) -> None:
        if self.embedded:
            self._tester().revert_to_snapshot(snapshot_id)
        else:
            self.client.request("evm_revert", [snapshot_id])

    def _tester(self) -> Any:
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def _transact(self, sender: Signer, to: str | None, data: bytes, value: int) -> Receipt:
        from chain.reverts import decode_revert

        transaction: dict[str, Any] = {"from": sender.address, "data": "0x" + data.hex(),
                                       "value": hex(value)}
        if to is not None:
            transaction["to"] = to
        try:
            if self.embedded:
                # eth-tester estimates gas by a binary search, a dozen executions; one call
                # finds a revert as well, and the block's limit pays for whatever it runs.
                self.client.call(transaction, "pending")
            # The gas, the nonce, the fees and the funds to pay them: one round trip.
            estimate, nonce, block, balance = self.client.batch([
                ("eth_estimateGas", [transaction]) if not self.embedded
                else ("eth_blockNumber", []),
                ("eth_getTransactionCount", [sender.address, "pending"]),
                ("eth_getBlockByNumber", ["latest", False]),
                ("eth_getBalance", [sender.address, "pending"]),
            ])
        except RpcError as exc:
            raise decode_revert(exc) from exc
        gas = (quantity(block["gasLimit"]) if self.embedded
               else int(quantity(estimate) * GAS_MARGIN))
        max_fee = 2 * quantity(block.get("baseFeePerGas") or 0) + PRIORITY_FEE_WEI
        if quantity(balance) < gas * max_fee + value:
            # A named wallet says its name: the address alone does not tell a user which to fund.
            name = getattr(sender, "name", None)
            raise InsufficientGas(f"{name} ({sender.address})" if name else sender.address,
                                  gas * max_fee + value, quantity(balance))
        unsigned: Any = {"data": transaction["data"], "value": value, "gas": gas,
                         "nonce": quantity(nonce), "chainId": self.chain_id,
                         "maxFeePerGas": max_fee, "maxPriorityFeePerGas": PRIORITY_FEE_WEI}
        if to is not None:
            unsigned["to"] = to
        signed = sender.sign_transaction(unsigned)
        receipt = Receipt.of(self.client.send_raw(bytes(signed.raw_transaction)))
        if receipt.status != 1:
            raise ChainError(f"transaction {receipt.tx} reverted")
        return receipt


def connect(rpc: str | None = None) -> Chain:
    """The embedded chain for None or 'embedded'; otherwise the JSON-RPC endpoint at `rpc`."""
    if rpc in (None, EMBEDDED):
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
        client = RpcClient.embedded(w3)
        return Chain(client, EMBEDDED, client.chain_id(), w3)
    if not rpc.startswith(("http://", "https://")):
        raise ChainError(f"expected an http(s) URL or 'embedded', got {rpc!r}", field="rpc")
    client = RpcClient.http(rpc)
    return Chain(client, rpc, client.chain_id())  # one round trip proves the endpoint answers
