// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IVerdictConsumer} from "./IVerdictConsumer.sol";

/// @title Enforces oracle verdicts on CST stakes and reputation
/// @notice A job is opened by locking the buyer's stake; its verdict then releases the stake
/// (compliant), burns it (buyer at fault), or releases it and burns part of the provider's
/// reputation bond instead (provider at fault). Audits move both parties' reputation.
interface IStakeEnforcer is IVerdictConsumer {
    error NotPolicyOracle(address caller);
    error InvalidProvider();
    error UnknownJob(bytes32 jobId);

    event JobOpened(bytes32 indexed jobId, address indexed buyer, address indexed provider, uint256 stake);
    event VerdictEnforced(bytes32 indexed jobId, bool compliant, uint8 fault, uint256 burned);
    event ProviderBondSlashSet(uint256 amount);

    /// @notice Locks `stake` of the buyer's free stake for `jobId` and opens the job with the
    /// policy oracle. CLEARING_ROLE only.
    function openJob(bytes32 jobId, address buyer, address provider, uint256 stake) external;

    /// @notice CST burned from a provider's bond per provider-fault violation. REGULATOR_ROLE.
    function setProviderBondSlash(uint256 amount) external;

    function providerOf(bytes32 jobId) external view returns (address);
    function providerBondSlash() external view returns (uint256);
}
