"""rcm as a library: a deployment (`Market`) and the wallets that act on it (`Wallet`).

    import rcm

    market = rcm.Market.connect("http://127.0.0.1:8545")
    alice = market.wallet("alice")          # unlocked by `rcm wallet unlock`, or RCM_PASSWORD
    alice.stake("10")
    placed = alice.bid(round_id=1, bid={"bundles": [{"items": {"0": 8}, "value": 900_000_000}]})

Every operation checks what the chain would refuse before it signs, and raises `rcm.RcmError`
(its `field` names the argument at fault) with nothing sent. Amounts are whole tokens as
strings or numbers ("12.5", 10, Decimal("0.1")); what comes back is in the smallest units the
contracts count (wei of CST, micro-USD, micro-ε), with the unit in each name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from chain.clearing_house import Round
    from chain.contract import Receipt
    from chain.settlement import Phase
    from chain.signer import Signer
    from chain.system import System
    from market.onchain import AskEntry, BidEntry
    from market.orders import Verdict
    from market.price_history import PriceHistory
    from market.prices import IndexPoint, PricePoint
    from market.round_book import Book
    from risk.declaration import Declaration
    from service.client import RelayClient
    from tokens.budgets import DatasetView
    from tokens.futures import FutureView
    from tokens.history import Entry
    from tokens.operations import Balances
    from tokens.trade import OrderFile, Signed

Amount = str | int | Decimal


@dataclass(frozen=True)
class Sent:
    """A mined transaction."""

    tx: str
    gas: int

    @classmethod
    def of(cls, receipt: Receipt) -> Sent:
        return cls(receipt.tx, receipt.gas_used)


@dataclass(frozen=True)
class RoundView:
    round_id: int
    phase: Phase
    state: Round
    bid_count: int  # bids committed to the round, cancelled and forfeited ones included


@dataclass(frozen=True)
class PostedAsks:
    round_id: int
    items: list[int]
    sent: Sent


@dataclass(frozen=True)
class PlacedBid:
    digest: str
    deposit_micro_usd: int
    stake_wei: int
    sent: Sent


@dataclass(frozen=True)
class BidAction:
    """A reveal or a cancellation of one bid."""

    digest: str
    sent: Sent


@dataclass(frozen=True)
class Transfer:
    """Tokens sent: `amount` in the token's smallest unit (wei of ETH and CST, micro-USD)."""

    sender: str
    to: str
    token: str
    amount: int
    sent: Sent


@dataclass(frozen=True)
class CstMove:
    """CST staked, unstaked, bonded or unbonded; an unbond says how much CST is unbonding now
    and when `withdraw` can take it (the vault's delay restarts for all of it at each unbond)."""

    amount_wei: int
    sent: Sent
    unbonding_wei: int | None = None
    unbonding_ready_at: int | None = None


@dataclass(frozen=True)
class Withdrawal:
    """USD the rounds owed and CST whose unbonding delay had passed; `sent` holds the USD's
    transaction first, then the CST's, each only where there was some."""

    usd_micro_usd: int
    cst_wei: int
    sent: list[Sent]


@dataclass(frozen=True)
class FutureAction:
    """Futures claimed, or one future sent (`to`) or redeemed into its job (`job`, the
    future's id: a job keeps the id of the future it redeemed; `declaration`, the hash of the
    workload it committed to)."""

    futures: list[str]
    sent: Sent
    to: str | None = None
    job: str | None = None
    declaration: str | None = None


@dataclass(frozen=True)
class Trade:
    """A filled order: the future, the price the buyer paid and the fee out of it."""

    future: str
    price_micro_usd: int
    fee_micro_usd: int
    seller: str
    buyer: str
    sent: Sent


@dataclass(frozen=True)
class SignedOrder:
    """An order signed into its file (`file`), and the approval its maker sent first so that
    it can fill (None: none was needed)."""

    file: OrderFile
    approval: Sent | None

    @classmethod
    def of(cls, signed: Signed) -> SignedOrder:
        from tokens.trade import OrderFile

        approval = None if signed.approval is None else Sent.of(signed.approval)
        return cls(OrderFile.of(signed.order, signed.signature), approval)


@dataclass(frozen=True)
class CounterMove:
    """Every order signed before is cancelled; new ones carry `counter`."""

    counter: int
    sent: Sent


@dataclass(frozen=True)
class RegisteredDataset:
    dataset: str  # its id, 0x and 64 hex digits
    content_hash: str
    epsilon_micro_eps: int
    max_delta_atto: int
    total_delta_atto: int
    categories: list[str]  # the sensitive data it holds; empty: public data
    sent: Sent


@dataclass(frozen=True)
class BudgetTrade:
    """ε of a dataset granted (`to`), offered (a price; 0 ε withdraws the offer) or bought
    (`seller`, `cost_micro_usd`); the price in micro-USD per whole ε."""

    dataset: str
    epsilon_micro_eps: int
    sent: Sent
    to: str | None = None
    seller: str | None = None
    price_micro_usd: int | None = None
    cost_micro_usd: int | None = None


class Market:
    """One deployment of rcm, read through a chain connection."""

    def __init__(self, system: System) -> None:
        self.system = system

    @classmethod
    def connect(cls, rpc: str | None = None) -> Market:
        """The deployment on the chain at `rpc` (default: $RCM_RPC, else `rpc` in
        $RCM_HOME/config.toml, else the local testnet's http://127.0.0.1:8545), as `rcm deploy`
        or `rcm testnet start` recorded it."""
        from chain.config import default_rpc
        from chain.connection import connect
        from chain.system import System

        return cls(System.load(connect(rpc or default_rpc())))

    def wallet(self, name: str, password: str | None = None) -> Wallet:
        """The named wallet under $RCM_HOME/keystores. Its key is fetched when it first signs:
        from the agent when `rcm wallet unlock` holds it, else from the keystore with
        `password`, else RCM_PASSWORD_<NAME>, else RCM_PASSWORD, else a prompt on the
        terminal."""
        from tokens.keyring import WalletAccount

        return Wallet(self, WalletAccount(name, password))

    @staticmethod
    def relay(url: str = "http://127.0.0.1:8800") -> RelayClient:
        """The order relay at `url` (`rcm market serve`): `post_order(signed.file)`,
        `order(id_or_prefix).file` (for `Wallet.fill`), `book(item, round_id)`, `trades()`;
        a relay that cannot be reached or refuses raises `rcm.RcmError` naming the field."""
        from service.client import RelayClient

        return RelayClient(url)

    def wallet_of(self, account: Signer) -> Wallet:
        """A wallet over a key the script holds itself (any eth-account `Signer`)."""
        return Wallet(self, account)

    def now(self) -> int:
        """Chain time: the timestamp the next transaction runs at."""
        return self.system.chain.pending_timestamp()

    def rounds(self) -> list[RoundView]:
        """Every round of the deployment, oldest first, with its phase."""
        from collections import Counter

        from chain.clearing_house import round_count
        from chain.events import events

        house = self.system.clearing_house
        bids = Counter(int(e.args["roundId"]) for e in events(self.system, house, "Committed"))
        return [self._round_view(r, bids[r]) for r in range(1, round_count(house) + 1)]

    def round(self, round_id: int) -> RoundView:
        from chain.events import events
        from market.round_book import require_round

        require_round(self.system, round_id, "round_id")
        committed = events(self.system, self.system.clearing_house, "Committed",
                           roundId=round_id)
        return self._round_view(round_id, len(committed))

    def _round_view(self, round_id: int, bid_count: int) -> RoundView:
        from chain.clearing_house import Round, phase_of

        house = self.system.clearing_house
        return RoundView(round_id, phase_of(house, round_id), Round.read(house, round_id),
                         bid_count)

    def book(self, round_id: int) -> Book:
        """The round as the chain records it: policy, asks, commitments and revealed bids."""
        from market.round_book import read_book

        return read_book(self.system, round_id)

    def price_history(self) -> PriceHistory:
        """Every round's final item prices and every trade's price per unit, oldest first, with
        the label of every item each round offered."""
        from market.price_history import read_price_history

        return read_price_history(self.system)

    def prices(self, item: str) -> list[PricePoint]:
        """The prices of an item, named by its label or as `ROUND:INDEX`, oldest first."""
        return self.price_history().series(item)

    def price_index(self, resource: str | None = None, region: str | None = None
                    ) -> list[IndexPoint]:
        """The price index of `resource` in `region` over time (every resource or region
        priced when not given), in time order."""
        return self.price_history().index(resource, region)


class Wallet:
    """One account acting on a `Market`: the operations of `rcm wallet`."""

    def __init__(self, market: Market, account: Signer) -> None:
        self.market = market
        self.account = account

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def _system(self) -> System:
        return self.market.system

    # ---- tokens, stake and bond ----

    def balances(self) -> Balances:
        from tokens.operations import balances

        return balances(self._system, self.address)

    def history(self) -> list[Entry]:
        """What the chain records of this wallet, oldest first: tokens in and out, stake and
        bond, bids, futures and ε budgets."""
        from tokens.history import history

        return history(self._system, self.address)

    def transfer(self, to: str, amount: Amount, token: str = "cst") -> Transfer:
        """Sends CST, USD or ETH to a 0x address."""
        from chain.amounts import DECIMALS, to_units
        from tokens.errors import TokensError
        from tokens.operations import transfer

        if token not in DECIMALS:
            raise TokensError(f"expected one of cst, usd, eth, got {token!r}", field="token")
        units, recipient = to_units(str(amount), token), _address(to)
        receipt = transfer(self._system, self.account, recipient, units, token)
        return Transfer(self.address, recipient, token, units, Sent.of(receipt))

    def stake(self, amount: Amount) -> CstMove:
        """Moves CST into the vault as free stake that jobs lock."""
        return self._cst("stake", amount)

    def unstake(self, amount: Amount) -> CstMove:
        return self._cst("unstake", amount)

    def bond(self, amount: Amount) -> CstMove:
        """Posts a reputation bond: what a provider's asks and a result poster hold."""
        return self._cst("bond", amount)

    def unbond(self, amount: Amount) -> CstMove:
        """Starts unbonding; `withdraw` takes the CST back after the vault's delay, from
        `unbonding_ready_at`."""
        from chain.amounts import to_units
        from tokens.operations import balances, unbond

        units = to_units(str(amount), "cst")
        receipt = unbond(self._system, self.account, units)
        started = self._system.vault.events_in(receipt, "UnbondingStarted")[0].args
        return CstMove(units, Sent.of(receipt),
                       unbonding_wei=balances(self._system, self.address).unbonding_wei,
                       unbonding_ready_at=int(started["readyAt"]))

    def owed(self) -> int:
        """Micro-USD the rounds owe this wallet: losers' deposits, winners' change, proceeds
        and refunds, all of it taken by one `withdraw`."""
        from market.orders import owed

        return owed(self._system, self.address)[0]

    def withdraw(self) -> Withdrawal:
        """Takes back what the rounds owe this wallet (refunds, change, proceeds) in USD, and
        CST whose unbonding delay has passed."""
        from market.orders import owed, withdraw_owed
        from tokens.operations import unbonded_ready_wei, withdraw

        amount, bids = owed(self._system, self.address)
        sent = [Sent.of(withdraw_owed(self._system, self.account, bids))] if amount else []
        cst = unbonded_ready_wei(self._system, self.address)
        if not amount or cst:
            sent.append(Sent.of(withdraw(self._system, self.account)))
        return Withdrawal(amount, cst, sent)

    # ---- asks and bids ----

    def post_asks(self, round_id: int, asks: list[AskEntry] | list[dict[str, Any]]
                  ) -> PostedAsks:
        """Offers capacity in a round in its commit phase (each entry as in an ask file); the
        round's policy holds a bond per unit offered until the round closes."""
        from market.onchain import AskEntry
        from market.orders import post_asks

        chain_asks = [_model(AskEntry, ask, f"asks[{i}]").to_chain() for i, ask in enumerate(asks)]
        receipt = post_asks(self._system, self.account, round_id, chain_asks)
        posted = self._system.clearing_house.events_in(receipt, "AskPosted")
        return PostedAsks(round_id, [int(e.args["item"]) for e in posted], Sent.of(receipt))

    @overload
    def bid(self, round_id: int, bid: BidEntry | dict[str, Any],
            dry_run: Literal[False] = False) -> PlacedBid: ...

    @overload
    def bid(self, round_id: int, bid: BidEntry | dict[str, Any], *,
            dry_run: Literal[True]) -> Verdict: ...

    def bid(self, round_id: int, bid: BidEntry | dict[str, Any],
            dry_run: bool = False) -> PlacedBid | Verdict:
        """Signs a sealed bid (as in a bid file), keeps it under $RCM_HOME for the reveal, and
        commits to it: its deposit, stake and ε are locked until the round settles it. A bid
        that cannot win (ε over the policy's limit for its purpose, more units than an item
        offers, a bundle below its reserve cost, ...) is refused with the reason the auctioneer
        would give. `dry_run` makes every check, signs and sends nothing, and returns the
        `market.orders.Verdict`: the deposit and stake the bid would lock, and the error it
        would be refused with (None: it would commit)."""
        if dry_run:
            return self.bids(round_id, [bid], dry_run=True)[0]
        return self.bids(round_id, [bid])[0]

    @overload
    def bids(self, round_id: int, bids: Sequence[BidEntry | dict[str, Any]],
             dry_run: Literal[False] = False) -> list[PlacedBid]: ...

    @overload
    def bids(self, round_id: int, bids: Sequence[BidEntry | dict[str, Any]], *,
             dry_run: Literal[True]) -> list[Verdict]: ...

    def bids(self, round_id: int, bids: Sequence[BidEntry | dict[str, Any]],
             dry_run: bool = False) -> list[PlacedBid] | list[Verdict]:
        """`bid` for the bids of one file, all or none: each is checked, its funds with those
        of the bids before it, and the first refusal (its field names the bid, `bids[2]...`)
        is raised before any is signed. `dry_run` returns each bid's `Verdict`."""
        from market.onchain import BidEntry
        from market.orders import check_bids, place_bids

        entries = [_model(BidEntry, bid, f"bids[{i}]") for i, bid in enumerate(bids)]
        if dry_run:
            return check_bids(self._system, self.address, round_id, entries)
        return [PlacedBid("0x" + placed.digest.hex(), placed.deposit_micro_usd, placed.stake_wei,
                          Sent.of(placed.receipt))
                for placed in place_bids(self._system, self.account, round_id, entries)]

    def reveal(self, round_id: int) -> list[BidAction]:
        """Reveals this wallet's committed bids of the round, in its reveal phase."""
        from market.orders import reveal

        return [BidAction("0x" + d.hex(), Sent.of(r))
                for d, r in reveal(self._system, self.account, round_id)]

    def cancel(self, round_id: int, digest: str | None = None) -> list[BidAction]:
        """Cancels committed bids (all of the round's, or one: its digest, or the first 8 or
        more hex digits of it) before bidding closes."""
        from market.orders import cancel
        from tokens.ids import resolve_prefix

        if digest is not None:
            def mine() -> dict[str, int]:
                return {d: int(d, 16) for d in self.committed(round_id)}

            found = resolve_prefix(digest, mine, f"this wallet's bids in round {round_id}",
                                   "digest", 64)
            digest = digest if found is None else f"0x{found:064x}"
        return [BidAction("0x" + d.hex(), Sent.of(r))
                for d, r in cancel(self._system, self.account, round_id, digest)]

    def committed(self, round_id: int) -> list[str]:
        """Digests of this wallet's bids in the round that this machine keeps and the chain
        holds, whatever became of them since: a signed bid whose commit never landed is none."""
        from chain.clearing_house import BidRecord
        from chain.settlement import Status
        from market.orders import saved_bids

        house = self._system.clearing_house
        return ["0x" + digest.hex() for digest, bid, _ in saved_bids(self._system)
                if bid.round_id == round_id and bid.bidder == self.address
                and BidRecord.read(house, digest).status is not Status.NONE]

    # ---- futures ----

    def futures(self) -> list[FutureView]:
        """Futures this wallet won, holds or redeemed."""
        from tokens.futures import futures

        return futures(self._system, self.address)

    def future_id(self, text: str) -> str:
        """A future id in full (0x and 64 hex digits) from its 0x-hex or decimal, or from the
        first 8 or more hex digits of one of this wallet's futures (or bids)."""
        from tokens.futures import future_ids, hex_id, parse_future_id
        from tokens.ids import resolve_prefix

        def known() -> dict[str, int]:
            return {hex_id(i): int.from_bytes(i, "big")
                    for i in future_ids(self._system, self.address)}

        found = resolve_prefix(text, known, "this wallet's futures and bids", "future_id", 64)
        return hex_id(parse_future_id(text) if found is None else found.to_bytes(32, "big"))

    def claim(self, future_ids: list[str]) -> FutureAction:
        """Mints won futures as ERC-1155 tokens to this wallet."""
        from tokens.futures import claim, hex_id

        ids = [self._future(i) for i in future_ids]
        return FutureAction([hex_id(i) for i in ids], Sent.of(claim(self._system, self.account,
                                                                    ids)))

    def sell(self, future_id: str, price_usd: Amount, expires_at: int) -> SignedOrder:
        """Signs an order to sell a future (claimed or not) on the futures exchange at
        `price_usd` until `expires_at` (unix seconds); lets the exchange move this wallet's
        futures first if it may not yet. Nothing else is sent: the buyer fills it."""
        from chain.amounts import to_units
        from tokens.trade import sell_order

        signed = sell_order(self._system, self.account, self._future(future_id),
                            to_units(str(price_usd), "usd", "price_usd"), expires_at)
        return SignedOrder.of(signed)

    def buy_future(self, future_id: str | None = None, *, round_id: int | None = None,
                   item: int | None = None, min_quantity: int | None = None,
                   price_usd: Amount, expires_at: int) -> SignedOrder:
        """Signs an order to buy, at `price_usd` until `expires_at` (unix seconds), the future
        `future_id`, or any future of round `round_id` whose won bundle delivers at least
        `min_quantity` units of its item `item` (the item's index in the round): one or the
        other. Lets the exchange take the price first if it may not yet; a seller fills it."""
        from chain.amounts import to_units
        from tokens.errors import TokensError
        from tokens.trade import Criteria, buy_order

        criteria = (round_id, item, min_quantity)
        if future_id is not None and any(part is not None for part in criteria):
            raise TokensError("names a future and criteria: one or the other",
                              field="future_id")
        wanted: bytes | Criteria
        if future_id is not None:
            wanted = bytes.fromhex(self.future_id(future_id)[2:])
        elif round_id is None or item is None or min_quantity is None:
            missing = next(name for name, part in zip(("round_id", "item", "min_quantity"),
                                                      criteria, strict=True) if part is None)
            raise TokensError("needed when no future is named: an order by criteria names a "
                              "round, an item and a minimum quantity", field=missing)
        else:
            wanted = Criteria(round_id, item, min_quantity)
        signed = buy_order(self._system, self.account, wanted,
                           to_units(str(price_usd), "usd", "price_usd"), expires_at)
        return SignedOrder.of(signed)

    def fill(self, signed: SignedOrder | OrderFile | Path, future_id: str | None = None) -> Trade:
        """Takes the other side of a signed order (or its file) in one transaction: buys the
        future a sell order offers, or sells this wallet's future to a buy order — the one it
        names or, for criteria, `future_id` or else this wallet's future that meets them with
        the fewest units of the item. Approves the exchange for what it moves if needed."""
        from tokens.futures import hex_id
        from tokens.trade import fill

        signed = _order_file(signed)
        order = signed.order()
        future = None if future_id is None else self._future(future_id)
        receipt = fill(self._system, self.account, order, signed.signature_bytes(), future)
        (traded,) = self._system.exchange.events_in(receipt, "Traded")
        return Trade(hex_id(int(traded.args["futureId"]).to_bytes(32, "big")),
                     order.price_micro_usd, int(traded.args["feeMicroUsd"]),
                     traded.args["seller"], traded.args["buyer"], Sent.of(receipt))

    def cancel_order(self, signed: SignedOrder | OrderFile | Path) -> Sent:
        """Cancels one of this wallet's open orders, of either kind (or its file)."""
        (sent,) = self.cancel_orders([signed])
        return sent

    def cancel_orders(self, orders: Sequence[SignedOrder | OrderFile | Path]) -> list[Sent]:
        """Cancels open orders of this wallet (or their files): one transaction per kind,
        sent once every order has passed its checks."""
        from tokens.trade import cancel

        found = [_order_file(signed).order() for signed in orders]
        return [Sent.of(receipt) for receipt in cancel(self._system, self.account, found)]

    def cancel_all_orders(self) -> CounterMove:
        """Cancels every order this wallet has signed; orders it signs from now on carry the
        new counter."""
        from tokens.trade import cancel_all

        moved = cancel_all(self._system, self.account)
        return CounterMove(moved.counter, Sent.of(moved.receipt))

    def transfer_future(self, to: str, future_id: str) -> FutureAction:
        from tokens.futures import hex_id, transfer

        recipient, future = _address(to), self._future(future_id)
        receipt = transfer(self._system, self.account, recipient, future)
        return FutureAction([hex_id(future)], Sent.of(receipt), to=recipient)

    def redeem(self, future_id: str, declaration: Path | Declaration | None = None
               ) -> FutureAction:
        """Turns a future into a policy-oracle job that runs the workload `declaration`
        describes (a file, or the model); the bidder may leave it out to run the job it bid for.
        The job must score at most the future's `riskBps` under its round's rubric. A holder
        other than the bidder backs the job with its own free stake."""
        from market.redemption import declared_job
        from risk.declaration import read_declaration
        from tokens.futures import hex_id, redeem

        future = self._future(future_id)
        job = read_declaration(declaration) if isinstance(declaration, Path) else declaration
        declared = declared_job(self._system, future, self.address, job)
        receipt = redeem(self._system, self.account, future, declared)
        return FutureAction([hex_id(future)], Sent.of(receipt), job=hex_id(future),
                            declaration="0x" + declared.hex())

    def _future(self, text: str) -> bytes:
        return bytes.fromhex(self.future_id(text)[2:])

    # ---- privacy budgets ----

    def register_dataset(self, *, epsilon: Amount, delta: Amount, purposes: list[str],
                         content_hash: str | None = None, file: Path | None = None,
                         total_delta: Amount | None = None, categories: Sequence[str] = ()
                         ) -> RegisteredDataset:
        """Registers a dataset (by its content hash, or the SHA-256 of `file`) with a total ε,
        a per-job δ cap and a total δ (default 100 jobs at the cap), and the sensitive data
        categories it holds (health, genomic, biometric, financial; none: public data), which
        every job on it must declare; its whole ε budget is minted to this wallet."""
        from tokens import budgets
        from tokens.errors import TokensError

        if (file is None) == (content_hash is None):
            raise TokensError("give exactly one of content_hash and file", field="content_hash")
        content = (budgets.file_content_hash(Path(file)) if file is not None
                   else budgets.parse_content_hash(str(content_hash)))
        per_job = budgets.delta_atto(str(delta))
        total = (budgets.delta_atto(str(total_delta), "total_delta") if total_delta is not None
                 else budgets.DEFAULT_JOBS_PER_DELTA_BUDGET * per_job)
        micro_eps = budgets.epsilon_micros(str(epsilon))
        dataset, receipt = budgets.register(
            self._system, self.account, content, micro_eps, per_job, total, purposes, categories)
        return RegisteredDataset(budgets.hex_dataset_id(dataset), "0x" + content.hex(),
                                 micro_eps, per_job, total, sorted(set(categories)),
                                 Sent.of(receipt))

    def datasets(self) -> list[DatasetView]:
        """Datasets this wallet registered or holds ε of, with its offer on each."""
        from tokens.budgets import datasets

        return datasets(self._system, self.address)

    def dataset_id(self, dataset: int | str) -> int:
        """A dataset id from its decimal or 0x-hex, or from the first 8 or more hex digits of a
        registered dataset's."""
        from tokens.budgets import parse_dataset_id, registered_datasets
        from tokens.ids import resolve_prefix

        def known() -> dict[str, int]:
            # As tables show them and as --json does, in 64 digits.
            return {shown: i for i in registered_datasets(self._system)
                    for shown in (hex(i), f"0x{i:064x}")}

        if isinstance(dataset, str):
            found = resolve_prefix(dataset, known, "the registered datasets", "dataset")
            if found is not None:
                return found
        return parse_dataset_id(str(dataset))

    def grant(self, dataset: int | str, to: str, epsilon: Amount) -> BudgetTrade:
        from tokens import budgets

        dataset_id, recipient = self.dataset_id(dataset), _address(to)
        amount = budgets.epsilon_micros(str(epsilon))
        receipt = budgets.grant(self._system, self.account, dataset_id, recipient, amount)
        return BudgetTrade(budgets.hex_dataset_id(dataset_id), amount, Sent.of(receipt),
                           to=recipient)

    def offer(self, dataset: int | str, epsilon: Amount, price_usd: Amount | None = None
              ) -> BudgetTrade:
        """Offers ε of a dataset at a fixed USD price per ε; epsilon 0 withdraws the offer."""
        from tokens import budgets
        from tokens.errors import TokensError

        amount = budgets.epsilon_micros(str(epsilon), allow_zero=True)
        if amount and price_usd is None:
            raise TokensError("required when offering ε (USD per whole ε)", field="price_usd")
        price = budgets.price_micro_usd(str(price_usd), "price_usd") if amount else 0
        dataset_id = self.dataset_id(dataset)
        receipt = budgets.offer(self._system, self.account, dataset_id, amount, price)
        return BudgetTrade(budgets.hex_dataset_id(dataset_id), amount, Sent.of(receipt),
                           price_micro_usd=price)

    def buy(self, dataset: int | str, seller: str, epsilon: Amount, price_usd: Amount
            ) -> BudgetTrade:
        """Buys ε from a seller's offer at the price the script saw; a changed price is
        refused."""
        from tokens import budgets

        dataset_id, address = self.dataset_id(dataset), _address(seller, "seller")
        amount = budgets.epsilon_micros(str(epsilon))
        price = budgets.price_micro_usd(str(price_usd), "price_usd")
        receipt = budgets.buy(self._system, self.account, dataset_id, address, amount, price)
        return BudgetTrade(budgets.hex_dataset_id(dataset_id), amount, Sent.of(receipt),
                           seller=address, price_micro_usd=price,
                           cost_micro_usd=budgets.cost_micro_usd(amount, price))

    def _cst(self, method: str, amount: Amount) -> CstMove:
        from chain.amounts import to_units
        from tokens import operations

        units = to_units(str(amount), "cst")
        operation = getattr(operations, method)
        return CstMove(units, Sent.of(operation(self._system, self.account, units)))


def _address(text: str, field: str = "to") -> str:
    from tokens.wallets import resolve_recipient

    return resolve_recipient(text, field)


def _model(model: Any, value: Any, field: str) -> Any:
    """A pydantic model from a dict (or the model itself); a bad value names its path."""
    from pydantic import ValidationError

    from chain.validation import first_problem
    from market.errors import MarketError

    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        path, reason = first_problem(exc)
        raise MarketError(reason, field=f"{field}.{path}" if path else field) from None


def _order_file(signed: SignedOrder | OrderFile | Path) -> OrderFile:
    from market.readers import read_json_file
    from tokens.trade import OrderFile

    if isinstance(signed, SignedOrder):
        return signed.file
    return signed if isinstance(signed, OrderFile) else read_json_file(signed, OrderFile)
