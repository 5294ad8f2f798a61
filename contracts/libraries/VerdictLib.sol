// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The oracle verdict as EIP-712 typed data; mirrored by `chain/verdict.py`
library VerdictLib {
    uint8 internal constant FAULT_NONE = 0;
    uint8 internal constant FAULT_BUYER = 1;
    uint8 internal constant FAULT_PROVIDER = 2;

    struct Data {
        bytes32 jobId;
        bool compliant;
        uint8 fault;
        bytes32 clausesHash;
        bytes32 configDigest;
    }

    bytes32 internal constant TYPE_HASH = keccak256(
        "Verdict(bytes32 jobId,bool compliant,uint8 fault,bytes32 clausesHash,bytes32 configDigest)"
    );

    function hash(Data calldata verdict) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TYPE_HASH,
                verdict.jobId,
                verdict.compliant,
                verdict.fault,
                verdict.clausesHash,
                verdict.configDigest
            )
        );
    }
}
