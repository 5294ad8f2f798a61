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
        bytes32 hash_ = _hashTypedDataV4(OrderLib.hash(order));
        _checkOrder(order, hash_);
        _checkSignature(order.maker, hash_, signature);
        _statuses[hash_] = OrderStatus.Filled;
        bool claimed = _checkFuture(order.futureId);
        (address seller, address buyer) =
            order.side == OrderLib.SELL ? (order.maker, msg.sender) : (msg.sender, order.maker);
        (address recipient, uint256 feeBps) = (_feeRecipient, _feeBps);
        uint256 feeMicroUsd = order.priceMicroUsd * feeBps / BPS;
        emit Traded(hash_, order.futureId, seller, buyer, order.priceMicroUsd, feeMicroUsd);
        paymentToken.safeTransferFrom(buyer, seller, order.priceMicroUsd - feeMicroUsd);
        if (feeMicroUsd != 0) paymentToken.safeTransferFrom(buyer, recipient, feeMicroUsd);
        _deliver(seller, buyer, order.futureId, claimed);
    }

    function cancel(OrderLib.Order[] calldata orders) external nonReentrant {
        for (uint256 i = 0; i < orders.length; ++i) {
            OrderLib.Order calldata order = orders[i];
            if (msg.sender != order.maker) revert NotMaker(msg.sender, order.maker);
            bytes32 hash_ = _hashTypedDataV4(OrderLib.hash(order));
            _requireOpen(hash_);
            _statuses[hash_] = OrderStatus.Cancelled;
            emit Cancelled(hash_, order.maker);
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

    function _checkOrder(OrderLib.Order calldata order, bytes32 hash_) private view {
        if (order.side > OrderLib.BUY) revert UnknownSide(order.side);
        if (order.priceMicroUsd == 0) revert ZeroPrice();
        if (block.timestamp > order.expiryTimestamp) revert OrderExpired(hash_, order.expiryTimestamp);
        // Self-trades would print volume at any price with nothing changing hands.
        if (msg.sender == order.maker) revert MakerIsTaker(order.maker);
        uint256 current = _counters[order.maker];
        if (order.counter != current) revert StaleCounter(order.maker, order.counter, current);
        _requireOpen(hash_);
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
    /// voided nor expired, its delivery not over. Returns whether its token was minted.
    function _checkFuture(uint256 futureId) private view returns (bool claimed) {
        IClearingHouseTypes.Status status;
        uint256 deliveryEnd;
        (status, claimed, deliveryEnd) = clearingHouse.futureOf(bytes32(futureId));
        if (status != IClearingHouseTypes.Status.Future) revert FutureNotTradable(futureId, status);
        if (block.timestamp > deliveryEnd) revert DeliveryOver(futureId, deliveryEnd);
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
