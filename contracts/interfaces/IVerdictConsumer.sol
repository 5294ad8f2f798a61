// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title What a contract implements to act on the policy oracle's accepted verdicts
/// @notice PolicyOracle calls `onVerdict` once per job, on the consumer that opened the job,
/// after k distinct oracle signatures were checked.
interface IVerdictConsumer {
    /// @param fault 0 none (compliant), 1 buyer, 2 provider
    /// @param clausesHash keccak256 over the sorted failed clause ids (zero when compliant)
    function onVerdict(bytes32 jobId, bool compliant, uint8 fault, bytes32 clausesHash) external;
}
