// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The price report as EIP-712 typed data; mirrored by `chain/prices.py`
/// @notice What the policy-oracle quorum signs, under the PolicyOracle's domain, after each
/// node recomputes the Ethical Pricing Function for a round's final allocation from the chain:
/// one price per item of the round and one payment per fill of the priced result, in the
/// result's order (batch by batch, each batch in ascending digest order). The report names the
/// clearing house, the round and the result version, and binds the oracle configuration, so it
/// prices nothing else.
library PriceLib {
    bytes32 internal constant TYPE_HASH = keccak256(
        "PriceReport(address clearingHouse,uint32 roundId,uint32 resultVersion,uint64[] itemPricesMicroUsd,"
        "uint64[] paymentsMicroUsd,bytes32 configDigest)"
    );

    function hash(
        address clearingHouse,
        uint32 roundId,
        uint32 resultVersion,
        uint64[] calldata itemPricesMicroUsd,
        uint64[] calldata paymentsMicroUsd,
        bytes32 configDigest
    ) internal pure returns (bytes32) {
        // abi.encodePacked pads each array element to 32 bytes: EIP-712's encoding of a uint64[].
        return keccak256(
            abi.encode(
                TYPE_HASH,
                clearingHouse,
                roundId,
                resultVersion,
                keccak256(abi.encodePacked(itemPricesMicroUsd)),
                keccak256(abi.encodePacked(paymentsMicroUsd)),
                configDigest
            )
        );
    }
}
