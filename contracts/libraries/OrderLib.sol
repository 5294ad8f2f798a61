// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title A maker's order on the futures exchange as EIP-712 typed data; mirrored by
/// `chain/exchange.py`
/// @notice A sell order offers the maker's future `futureId` for `priceMicroUsd` of the payment
/// token; a buy order offers `priceMicroUsd` for the future `futureId`. A criteria order offers
/// `priceMicroUsd` for any future of round `roundId` whose bundle delivers at least
/// `minQuantity` units of the round's item `item`: buyers bid for capacity, not for one
/// bidder's digest. `counter` must be the maker's counter on the exchange when the order fills,
/// so one `incrementCounter` kills every order signed before it; `salt` tells apart otherwise
/// equal orders. The two are typed structs of their own, so no signature of one is ever read
/// as the other.
library OrderLib {
    uint8 internal constant SELL = 0;
    uint8 internal constant BUY = 1;

    struct Order {
        address maker;
        uint8 side;
        uint256 futureId;
        uint256 priceMicroUsd;
        uint64 expiryTimestamp;
        uint256 salt;
        uint256 counter;
    }

    bytes32 internal constant TYPE_HASH = keccak256(
        "Order(address maker,uint8 side,uint256 futureId,uint256 priceMicroUsd,uint64 expiryTimestamp,"
        "uint256 salt,uint256 counter)"
    );

    struct CriteriaOrder {
        address maker;
        uint32 roundId;
        uint16 item;
        uint32 minQuantity;
        uint256 priceMicroUsd;
        uint64 expiryTimestamp;
        uint256 salt;
        uint256 counter;
    }

    bytes32 internal constant CRITERIA_TYPE_HASH = keccak256(
        "CriteriaOrder(address maker,uint32 roundId,uint16 item,uint32 minQuantity,uint256 priceMicroUsd,"
        "uint64 expiryTimestamp,uint256 salt,uint256 counter)"
    );

    function hash(Order calldata order) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TYPE_HASH,
                order.maker,
                order.side,
                order.futureId,
                order.priceMicroUsd,
                order.expiryTimestamp,
                order.salt,
                order.counter
            )
        );
    }

    function hash(CriteriaOrder calldata order) internal pure returns (bytes32) {
        // All static fields: abi.encode lays them out exactly as EIP-712 encodeData.
        return keccak256(abi.encode(CRITERIA_TYPE_HASH, order));
    }
}
