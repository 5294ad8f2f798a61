"""A connection to an EVM chain: the embedded eth-tester (py-evm) chain or any JSON-RPC URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chain.config import EMBEDDED
from chain.errors import ChainError

if TYPE_CHECKING:
    from eth_account.signers.base import BaseAccount
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.contract import Contract
    from web3.contract.contract import ContractFunction
    from web3.types import TxReceipt

# Public, well-known development keys. TEST-ONLY: anyone can spend from them.
HARDHAT_TEST_MNEMONIC = "test test test test test test test test test test test junk"
GAS_MARGIN = 1.25


@dataclass
class Chain:
    w3: Web3
    rpc: str
    _chain_id: int | None = field(default=None, repr=False)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def embedded(self) -> bool:
        return self.rpc == EMBEDDED

    def codes(self, addresses: list[str]) -> list[bytes]:
        """The code deployed at each address: one JSON-RPC batch, not a round trip each."""
        eth = self.w3.eth
        checksummed = [self.w3.to_checksum_address(address) for address in addresses]
        if self.embedded:  # eth-tester takes no batches, and has no round trips to save
            return [bytes(eth.get_code(address)) for address in checksummed]
        with self.w3.batch_requests() as batch:
            for address in checksummed:
                batch.add(eth.get_code(address))
            codes: list[Any] = batch.execute()  # typed as raw responses; they are formatted
        return [bytes(code) for code in codes]

    def dev_account(self, index: int = 0) -> LocalAccount:
        """A pre-funded development account of this chain. TEST-ONLY: its key is public."""
        from eth_account import Account

        if self.embedded:
            return Account.from_key((index + 1).to_bytes(32, "big"))
        Account.enable_unaudited_hdwallet_features()
        return Account.from_mnemonic(HARDHAT_TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")

    def send(self, call: ContractFunction, sender: BaseAccount, value: int = 0) -> TxReceipt:
        """Sign `call` locally and send it. A call that would revert raises `Reverted` with
        the decoded custom error, and nothing is sent."""
        from chain.reverts import decode_revert

        params: Any = {"from": sender.address, "value": value}
        try:
            if self.embedded:
                # eth-tester estimates gas by a binary search, a dozen executions; one call
                # finds a revert as well, and the block's limit pays for whatever it runs.
                call.call(params, block_identifier="pending")
                gas = int(self.w3.eth.get_block("latest")["gasLimit"])
            else:
                gas = int(call.estimate_gas(params) * GAS_MARGIN)
        except Exception as exc:
            raise decode_revert(exc) from exc
        tx = call.build_transaction(
            {
                **params,
                "gas": gas,
                "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": self.chain_id,
            }
        )
        return self._send_signed(tx, sender)

    def call(self, call: ContractFunction) -> Any:
        """A view call; a revert raises `Reverted` with the decoded custom error."""
        from chain.reverts import decode_revert

        try:
            return call.call()
        except Exception as exc:
            raise decode_revert(exc) from exc

    def deploy(self, name: str, sender: BaseAccount, *args: Any) -> Contract:
        from chain.compiler import artifact
        from chain.reverts import decode_revert

        compiled = artifact(name)
        factory = self.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        constructor = factory.constructor(*args)
        try:
            gas = constructor.estimate_gas({"from": sender.address})
        except Exception as exc:
            raise decode_revert(exc) from exc
        tx = constructor.build_transaction(
            {
                "from": sender.address,
                "gas": int(gas * GAS_MARGIN),
                "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": self.chain_id,
            }
        )
        receipt = self._send_signed(tx, sender)
        address = receipt["contractAddress"]
        return self.w3.eth.contract(address=address, abi=compiled.abi)  # type: ignore[return-value]

    def transfer_eth(self, sender: BaseAccount, to: str, amount_wei: int) -> TxReceipt:
        tx = {
            "from": sender.address,
            "to": to,
            "value": amount_wei,
            "gas": 21_000,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
            "chainId": self.chain_id,
            **self._fees(),
        }
        return self._send_signed(tx, sender)

    def pending_timestamp(self) -> int:
        """When the next transaction runs: the pending block's timestamp (the embedded chain's
        time travel moves it without mining a block)."""
        return int(self.w3.eth.get_block("pending")["timestamp"])

    def advance_time(self, seconds: int) -> int:
        """Moves chain time forward and mines a block; returns the new block timestamp."""
        if self.embedded:
            tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
            now = int(self.w3.eth.get_block("latest")["timestamp"])
            tester.time_travel(now + seconds)
        else:
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def snapshot(self) -> Any:
        if self.embedded:
            return self.w3.provider.ethereum_tester.take_snapshot()  # type: ignore[attr-defined]
        return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]

    def revert_to(self, snapshot_id: Any) -> None:
        if self.embedded:
            self.w3.provider.ethereum_tester.revert_to_snapshot(snapshot_id)  # type: ignore[attr-defined]
        else:
            self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]

    def _fees(self) -> dict[str, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tip = 10**9
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _send_signed(self, tx: Any, sender: BaseAccount) -> TxReceipt:
        signed = sender.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} reverted")
        return receipt


def connect(rpc: str | None = None) -> Chain:
    """The embedded chain for None or 'embedded'; otherwise the JSON-RPC endpoint at `rpc`."""
    from web3 import HTTPProvider, Web3
    from web3.types import RPCEndpoint

    if rpc in (None, EMBEDDED):
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        tester = EthereumTester(PyEVMBackend())
        w3 = Web3(EthereumTesterProvider(tester))
        # The sender of view calls, named as web3 would guess it: left to guess, web3 asks the
        # chain for its accounts on every call, 40 % of a view call's time here.
        w3.eth.default_account = w3.eth.accounts[0]
        return Chain(w3, EMBEDDED)
    if not rpc.startswith(("http://", "https://")):
        raise ChainError(f"expected an http(s) URL or 'embedded', got {rpc!r}", field="rpc")
    # web3 checks every eth_call and gas estimate against the chain id, asking the node for
    # it each time unless the answer is cached: the one request it is safe to cache.
    provider = HTTPProvider(rpc, request_kwargs={"timeout": 10}, cache_allowed_requests=True,
                            cacheable_requests={RPCEndpoint("eth_chainId")},
                            request_cache_validation_threshold=None)
    w3 = Web3(provider)
    try:
        chain_id = int(w3.eth.chain_id)  # one round trip proves the endpoint answers
    except Exception as exc:
        raise ChainError(f"cannot reach the chain at {rpc}: {type(exc).__name__}",
                         field="rpc") from exc
    return Chain(w3, rpc, chain_id)
