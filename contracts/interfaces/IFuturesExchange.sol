// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IClearingHouseTypes} from "./IClearingHouseTypes.sol";
import {OrderLib} from "../libraries/OrderLib.sol";

/// @title Atomic secondary trading of compute futures for the payment token, by signed orders
/// @notice A maker signs an `OrderLib.Order` (EIP-712, domain "rcm FuturesExchange" version 1,
/// bound to the chain id and this contract's address) and anyone else fills it in one
/// transaction: the future and the money move together or not at all. A sell order is filled
/// by a buyer who pays its price; a buy order by a seller who delivers its future. The seller
/// must have approved this exchange on `ComputeFutures` (`setApprovalForAll`), the buyer on the
/// payment token for the price. A future its seller never claimed is minted straight to the
/// buyer (`IClearingHouse.claimFor`). A future trades only while the clearing house holds it as
/// status `Future` and before its delivery ends. Each order fills at most once.
/// An order names one future. Buy orders by criteria (any future of a round delivering at
/// least a quantity of an item) are the next slice: they will be a typed struct of their own,
/// with its own type hash and fill entry point, so that orders signed today keep their hash;
/// `side` is a uint8 so that other kinds of order can be told apart in it.
interface IFuturesExchange {
    enum OrderStatus {
        Open,
        Filled,
        Cancelled
    }

    error UnknownSide(uint8 side);
    error ZeroPrice();
    error OrderExpired(bytes32 orderHash, uint256 expiryTimestamp);
    error StaleCounter(address maker, uint256 counter, uint256 currentCounter);
    error OrderNotOpen(bytes32 orderHash, OrderStatus status);
    error MakerIsTaker(address maker);
    error NotMaker(address caller, address maker);
    error MalleableSignature(bytes32 orderHash);
    error InvalidSignature(bytes32 orderHash, address recovered);
    error FutureNotTradable(uint256 futureId, IClearingHouseTypes.Status status);
    /// @dev The clearing house keeps each future's delivery end, not its slot's start, so the
    /// exchange stops trading a future when its delivery ends.
    error DeliveryOver(uint256 futureId, uint256 deliveryEndTimestamp);
    error FeeAboveMax(uint256 feeBps, uint256 maxFeeBps);
    error NoFeeRecipient(uint256 feeBps);

    /// @dev `feeMicroUsd` went to the fee recipient out of the seller's proceeds: the buyer paid
    /// `priceMicroUsd`, the seller got `priceMicroUsd - feeMicroUsd`.
    event Traded(
        bytes32 indexed orderHash,
        uint256 indexed futureId,
        address indexed seller,
        address buyer,
        uint256 priceMicroUsd,
        uint256 feeMicroUsd
    );
    event Cancelled(bytes32 indexed orderHash, address indexed maker);
    event CounterIncremented(address indexed maker, uint256 counter);
    event FeeSet(address indexed recipient, uint256 feeBps);

    /// @notice Fills `order`, signed by its maker (ECDSA, low-s; ERC-1271 for a contract maker);
    /// the caller is the taker. The order must be open, unexpired, of its maker's current
    /// counter and not the caller's own. The buyer pays the price; the protocol fee (`fee()`,
    /// basis points of the price) is taken from what the seller receives.
    function fill(OrderLib.Order calldata order, bytes calldata signature) external;

    /// @notice Cancels the caller's orders, each of which must be open.
    function cancel(OrderLib.Order[] calldata orders) external;

    /// @notice Cancels every order the caller signed with its current counter.
    function incrementCounter() external returns (uint256 counter);

    /// @notice Sets who receives the protocol fee and its basis points of each price, at most
    /// `MAX_FEE_BPS`; a fee needs a recipient. DEFAULT_ADMIN_ROLE (governance).
    function setFee(address recipient, uint16 feeBps) external;

    function orderHash(OrderLib.Order calldata order) external view returns (bytes32);
    function statusOf(bytes32 orderHash) external view returns (OrderStatus);
    function counterOf(address maker) external view returns (uint256);
    function fee() external view returns (address recipient, uint16 feeBps);
}
