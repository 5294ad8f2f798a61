// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The sealed bid as EIP-712 typed data; mirrored by `chain/bid.py`
/// @notice A bid is its public terms (what its deposit, stake and ε reservation are computed
/// from) and a sealed envelope (an XOR of bundles and a random salt). A commitment discloses the
/// terms and the envelope's struct hash only: the salt keeps the bundles from being guessed by
/// hashing candidates before the reveal. `declarationHash` commits the bid to its workload
/// declaration (keccak256 of its canonical JSON, `risk/declaration.py`), from which the buyer's
/// `riskBps` was scored: a declaration changed after the commit no longer matches the digest.
library BidLib {
    struct Bundle {
        uint16[] items;
        uint32[] quantities;
        uint64 valueMicroUsd;
    }

    struct Envelope {
        Bundle[] bundles;
        bytes32 salt;
    }

    struct Terms {
        uint32 roundId;
        address bidder;
        uint64 maxValueMicroUsd;
        uint96 datasetId;
        uint32 epsilonMicros;
        uint64 deltaAtto;
        uint16 riskBps;
        bytes32 declarationHash;
        bytes32 purpose;
        uint8 equityClass;
        uint64 nonce;
        uint64 expiryTimestamp;
    }

    struct Data {
        Terms terms;
        Envelope envelope;
    }

    bytes32 internal constant BUNDLE_TYPE_HASH =
        keccak256("Bundle(uint16[] items,uint32[] quantities,uint64 valueMicroUsd)");

    bytes32 internal constant ENVELOPE_TYPE_HASH = keccak256(
        "Envelope(Bundle[] bundles,bytes32 salt)Bundle(uint16[] items,uint32[] quantities,uint64 valueMicroUsd)"
    );

    bytes32 internal constant TERMS_TYPE_HASH = keccak256(
        "Terms(uint32 roundId,address bidder,uint64 maxValueMicroUsd,uint96 datasetId,uint32 epsilonMicros,"
        "uint64 deltaAtto,uint16 riskBps,bytes32 declarationHash,bytes32 purpose,uint8 equityClass,uint64 nonce,"
        "uint64 expiryTimestamp)"
    );

    bytes32 internal constant TYPE_HASH = keccak256(
        "Bid(Terms terms,Envelope envelope)"
        "Bundle(uint16[] items,uint32[] quantities,uint64 valueMicroUsd)"
        "Envelope(Bundle[] bundles,bytes32 salt)"
        "Terms(uint32 roundId,address bidder,uint64 maxValueMicroUsd,uint96 datasetId,uint32 epsilonMicros,"
        "uint64 deltaAtto,uint16 riskBps,bytes32 declarationHash,bytes32 purpose,uint8 equityClass,uint64 nonce,"
        "uint64 expiryTimestamp)"
    );

    /// @notice The bid's struct hash from its terms and its envelope's struct hash.
    function hash(Terms calldata terms, bytes32 envelopeHash) internal pure returns (bytes32) {
        // Terms is all static fields, so abi.encode lays them out exactly as EIP-712 encodeData.
        return keccak256(abi.encode(TYPE_HASH, keccak256(abi.encode(TERMS_TYPE_HASH, terms)), envelopeHash));
    }

    function hashEnvelope(bytes32 bundlesHash, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(ENVELOPE_TYPE_HASH, bundlesHash, salt));
    }

    /// @notice EIP-712's encoding of a `Bundle[]` member from the bundles' struct hashes.
    function hashBundles(bytes32[] memory bundleHashes) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bundleHashes));
    }

    /// @notice The envelope's struct hash from one bundle in full, at `index` among the other
    /// bundles' struct hashes in order, and the salt: what proves a bundle without the rest of
    /// the envelope. The caller checks that `index` is at most `others.length`.
    function hashEnvelope(Bundle calldata bundle, uint256 index, bytes32[] calldata others, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory hashes = new bytes32[](others.length + 1);
        for (uint256 k = 0; k < index; ++k) {
            hashes[k] = others[k];
        }
        hashes[index] = hashBundle(bundle);
        for (uint256 k = index; k < others.length; ++k) {
            hashes[k + 1] = others[k];
        }
        return hashEnvelope(hashBundles(hashes), salt);
    }

    function hashBundle(Bundle calldata bundle) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                BUNDLE_TYPE_HASH,
                keccak256(abi.encodePacked(bundle.items)),
                keccak256(abi.encodePacked(bundle.quantities)),
                bundle.valueMicroUsd
            )
        );
    }
}
