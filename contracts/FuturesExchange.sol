// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IClearingHouseTypes} from "./interfaces/IClearingHouseTypes.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IFuturesExchange} from "./interfaces/IFuturesExchange.sol";
import {BidLib} from "./libraries/BidLib.sol";
import {OrderLib} from "./libraries/OrderLib.sol";

/// @title Signed orders for compute futures, filled on chain: the future and the money in one
/// transaction
contract FuturesExchange is IFuturesExchange, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant MAX_FEE_BPS = 100;
    uint256 private constant BPS = 10_000;

    IClearingHouse public immutable clearingHouse;
    IComputeFutures public immutable futures;
    IERC20 public immutable paymentToken;

    /// @dev One slot, read once per fill.
    address private _feeRecipient;
    uint16 private _feeBps;
    mapping(address maker => uint256) private _counters;
    mapping(bytes32 orderHash => OrderStatus) private _statuses;

    constructor(address governance, IClearingHouse clearingHouse_, IComputeFutures futures_, IERC20 paymentToken_)
        EIP712("rcm FuturesExchange", "1")
    {
        clearingHouse = clearingHouse_;
        futures = futures_;
        paymentToken = paymentToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    function fill(OrderLib.Order calldata order, bytes calldata signature) external nonReentrant {
        if (order.side > OrderLib.BUY) revert UnknownSide(order.side);
        bytes32 hash_ = _hashTypedDataV4(OrderLib.hash(order));
        _take(hash_, order.maker, order.priceMicroUsd, order.expiryTimestamp, order.counter, signature);
        (IClearingHouseTypes.Status status, bool claimed, uint256 deliveryEnd,) =
            clearingHouse.futureOf(bytes32(order.futureId));
        _checkTradable(order.futureId, status, deliveryEnd);
        (address seller, address buyer) =
            order.side == OrderLib.SELL ? (order.maker, msg.sender) : (msg.sender, order.maker);
        _trade(hash_, order.futureId, seller, buyer, order.priceMicroUsd, claimed);
    }

    function fillCriteria(
        OrderLib.CriteriaOrder calldata order,
        bytes calldata signature,
        IClearingHouseTypes.Fill calldata proof
    ) external nonReentrant {
        bytes32 hash_ = _hashTypedDataV4(OrderLib.hash(order));
        _take(hash_, order.maker, order.priceMicroUsd, order.expiryTimestamp, order.counter, signature);
        (uint256 futureId, bool claimed) = _provenFuture(order, proof);
        _trade(hash_, futureId, msg.sender, order.maker, order.priceMicroUsd, claimed);
    }

    function cancel(OrderLib.Order[] calldata orders) external nonReentrant {
        for (uint256 i = 0; i < orders.length; ++i) {
            _cancel(orders[i].maker, _hashTypedDataV4(OrderLib.hash(orders[i])));
        }
    }

    function cancelCriteria(OrderLib.CriteriaOrder[] calldata orders) external nonReentrant {
        for (uint256 i = 0; i < orders.length; ++i) {
            _cancel(orders[i].maker, _hashTypedDataV4(OrderLib.hash(orders[i])));
        }
    }

    function incrementCounter() external nonReentrant returns (uint256 counter) {
        counter = ++_counters[msg.sender];
        emit CounterIncremented(msg.sender, counter);
    }

    function setFee(address recipient, uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert FeeAboveMax(feeBps, MAX_FEE_BPS);
        // A fee owed to the zero address would make every payment-token transfer of it, and so
        // every fill, revert.
        if (feeBps != 0 && recipient == address(0)) revert NoFeeRecipient(feeBps);
        (_feeRecipient, _feeBps) = (recipient, feeBps);
        emit FeeSet(recipient, feeBps);
    }

    // ---- views ----

    function orderHash(OrderLib.Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(OrderLib.hash(order));
    }

    function criteriaOrderHash(OrderLib.CriteriaOrder calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(OrderLib.hash(order));
    }

    function statusOf(bytes32 hash_) external view returns (OrderStatus) {
        return _statuses[hash_];
    }

    function counterOf(address maker) external view returns (uint256) {
        return _counters[maker];
    }

    function fee() external view returns (address recipient, uint16 feeBps) {
        return (_feeRecipient, _feeBps);
    }

    // ---- fill steps ----

    /// @dev What every fill checks of its order, whatever it names, before marking it filled:
    /// a positive price, not expired, another taker, the maker's current counter, still open,
    /// signed by the maker.
    function _take(
        bytes32 hash_,
        address maker,
        uint256 priceMicroUsd,
        uint64 expiryTimestamp,
        uint256 counter,
        bytes calldata signature
    ) private {
        if (priceMicroUsd == 0) revert ZeroPrice();
        if (block.timestamp > expiryTimestamp) revert OrderExpired(hash_, expiryTimestamp);
        // Self-trades would print volume at any price with nothing changing hands.
        if (msg.sender == maker) revert MakerIsTaker(maker);
        uint256 current = _counters[maker];
        if (counter != current) revert StaleCounter(maker, counter, current);
        _requireOpen(hash_);
        _checkSignature(maker, hash_, signature);
        _statuses[hash_] = OrderStatus.Filled;
    }

    function _cancel(address maker, bytes32 hash_) private {
        if (msg.sender != maker) revert NotMaker(msg.sender, maker);
        _requireOpen(hash_);
        _statuses[hash_] = OrderStatus.Cancelled;
        emit Cancelled(hash_, maker);
    }

    function _requireOpen(bytes32 hash_) private view {
        OrderStatus status = _statuses[hash_];
        if (status != OrderStatus.Open) revert OrderNotOpen(hash_, status);
    }

    /// @dev ECDSA first, which refuses high-s (malleable) signatures as the clearing house
    /// does for bids; ERC-1271 only for a maker with code, so an EOA maker's fill never pays to
    /// look its code up.
    function _checkSignature(address maker, bytes32 hash_, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(hash_, signature);
        if (error == ECDSA.RecoverError.NoError && recovered == maker) return;
        if (maker.code.length != 0) {
            if (!SignatureChecker.isValidERC1271SignatureNow(maker, hash_, signature)) {
                revert InvalidSignature(hash_, address(0));
            }
            return;
        }
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert MalleableSignature(hash_);
        revert InvalidSignature(hash_, recovered);
    }

    /// @dev A future trades while it can still be redeemed: issued and neither redeemed,
    /// voided nor expired, its delivery not over.
    function _checkTradable(uint256 futureId, IClearingHouseTypes.Status status, uint256 deliveryEnd) private view {
        if (status != IClearingHouseTypes.Status.Future) revert FutureNotTradable(futureId, status);
        if (block.timestamp > deliveryEnd) revert DeliveryOver(futureId, deliveryEnd);
    }

    /// @dev The future whose bid `proof` rebuilds, if it meets the order's criteria; returns
    /// whether its token was minted. The clearing house keys a future by its bid's digest and
    /// keeps which bundle won, so a bundle is proven with nothing stored for the exchange: a
    /// bid's losing bundle, or any bundle of a made-up envelope, fails here.
    function _provenFuture(OrderLib.CriteriaOrder calldata order, IClearingHouseTypes.Fill calldata proof)
        private
        view
        returns (uint256 futureId, bool claimed)
    {
        if (proof.terms.roundId != order.roundId) revert WrongRound(order.roundId, proof.terms.roundId);
        bytes32[] calldata others = proof.otherBundleHashes;
        if (proof.bundleIndex > others.length) revert BundleIndexOutOfRange(proof.bundleIndex, others.length + 1);
        bytes32 envelopeHash = BidLib.hashEnvelope(proof.bundle, proof.bundleIndex, others, proof.salt);
        bytes32 digest = clearingHouse.bidDigest(proof.terms, envelopeHash);
        futureId = uint256(digest);
        IClearingHouseTypes.Status status;
        uint256 deliveryEnd;
        uint8 wonIndex;
        (status, claimed, deliveryEnd, wonIndex) = clearingHouse.futureOf(digest);
        if (status == IClearingHouseTypes.Status.None) revert ForgedBundle(futureId);
        _checkTradable(futureId, status, deliveryEnd);
        if (proof.bundleIndex != wonIndex) revert NotWonBundle(futureId, wonIndex, proof.bundleIndex);
        _checkUnits(futureId, proof.bundle, order.item, order.minQuantity);
    }

    /// @dev A revealed bundle's items are strictly ascending, so the search stops past `item`.
    function _checkUnits(uint256 futureId, BidLib.Bundle calldata bundle, uint16 item, uint32 minQuantity)
        private
        pure
    {
        uint16[] calldata items = bundle.items;
        for (uint256 j = 0; j < items.length && items[j] <= item; ++j) {
            if (items[j] != item) continue;
            uint32 quantity = bundle.quantities[j];
            if (quantity < minQuantity) revert TooFewUnits(futureId, item, quantity, minQuantity);
            return;
        }
        revert ItemNotInBundle(futureId, item);
    }

    /// @dev The buyer pays the seller the price less the fee, and the fee to its recipient; the
    /// future goes to the buyer.
    function _trade(bytes32 hash_, uint256 futureId, address seller, address buyer, uint256 priceMicroUsd, bool claimed)
        private
    {
        (address recipient, uint256 feeBps) = (_feeRecipient, _feeBps);
        uint256 feeMicroUsd = priceMicroUsd * feeBps / BPS;
        emit Traded(hash_, futureId, seller, buyer, priceMicroUsd, feeMicroUsd);
        uint256 proceedsMicroUsd;
        // The fee is at most MAX_FEE_BPS of the price.
        unchecked {
            proceedsMicroUsd = priceMicroUsd - feeMicroUsd;
        }
        paymentToken.safeTransferFrom(buyer, seller, proceedsMicroUsd);
        if (feeMicroUsd != 0) paymentToken.safeTransferFrom(buyer, recipient, feeMicroUsd);
        _deliver(seller, buyer, futureId, claimed);
    }

    /// @dev An unclaimed future is minted to the buyer by the clearing house, which checks that
    /// the seller is its winner and approved this exchange.
    function _deliver(address seller, address buyer, uint256 futureId, bool claimed) private {
        if (claimed) {
            futures.safeTransferFrom(seller, buyer, futureId, 1, "");
            return;
        }
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = bytes32(futureId);
        clearingHouse.claimFor(seller, ids, buyer);
    }
}
