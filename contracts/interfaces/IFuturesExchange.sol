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
/// An `Order` names one future. A `CriteriaOrder` buys any future of a round whose won bundle
/// delivers at least a quantity of an item: its seller proves the future's bundle against the
/// digest the clearing house keys the future by (`fillCriteria`), so buyers bid for capacity,
/// not for one bidder's digest. The two are typed structs of their own, each with its type
/// hash, so no signature of one is ever read as the other.
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
    error WrongRound(uint32 orderRoundId, uint32 roundId);
    error BundleIndexOutOfRange(uint8 bundleIndex, uint256 bundleCount);
    /// @dev The proof rebuilds a digest no bid has: its terms, salt, bundle or other bundles'
    /// hashes are not those of a revealed bid.
    error ForgedBundle(uint256 futureId);
    error NotWonBundle(uint256 futureId, uint8 wonBundleIndex, uint8 bundleIndex);
    error ItemNotInBundle(uint256 futureId, uint16 item);
    error TooFewUnits(uint256 futureId, uint16 item, uint32 quantity, uint32 minQuantity);
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

    /// @notice Fills a buy order by criteria with the caller's future that `proof` proves: the
    /// bid's terms, salt and won bundle in full, with its other bundles' struct hashes in order,
    /// rebuild the bid's digest, which is the future's id (`IClearingHouse.bidDigest`). The
    /// future must be of the order's round, the bundle the one the clearing house recorded as
    /// won (`futureOf`), and deliver at least `minQuantity` units of the order's item. The
    /// caller is the seller; otherwise as `fill`.
    function fillCriteria(
        OrderLib.CriteriaOrder calldata order,
        bytes calldata signature,
        IClearingHouseTypes.Fill calldata proof
    ) external;

    /// @notice Cancels the caller's orders, each of which must be open.
    function cancel(OrderLib.Order[] calldata orders) external;

    /// @notice Cancels the caller's orders by criteria, each of which must be open.
    function cancelCriteria(OrderLib.CriteriaOrder[] calldata orders) external;

    /// @notice Cancels every order the caller signed with its current counter.
    function incrementCounter() external returns (uint256 counter);

    /// @notice Sets who receives the protocol fee and its basis points of each price, at most
    /// `MAX_FEE_BPS`; a fee needs a recipient. DEFAULT_ADMIN_ROLE (governance).
    function setFee(address recipient, uint16 feeBps) external;

    function orderHash(OrderLib.Order calldata order) external view returns (bytes32);
    function criteriaOrderHash(OrderLib.CriteriaOrder calldata order) external view returns (bytes32);
    function statusOf(bytes32 orderHash) external view returns (OrderStatus);
    function counterOf(address maker) external view returns (uint256);
    function fee() external view returns (address recipient, uint16 feeBps);
}
