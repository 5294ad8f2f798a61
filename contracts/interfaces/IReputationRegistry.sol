// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Reputation earned through audits, and the stake discount it buys
interface IReputationRegistry {
    /// @notice How audits move scores and how scores become discounts.
    /// @param passReward score added by a passed audit
    /// @param failPenalty score removed by a failed audit (floored at zero)
    /// @param maxScore scores never exceed this
    /// @param maxDiscountBps the discount a score tends to; below 10000 so stake never vanishes
    /// @param halfDiscountScore the score at which the discount is half of maxDiscountBps
    struct Parameters {
        uint64 passReward;
        uint64 failPenalty;
        uint64 maxScore;
        uint16 maxDiscountBps;
        uint64 halfDiscountScore;
    }

    error InvalidParameters();

    event AuditRecorded(address indexed account, bool passed, uint256 score);
    event ParametersSet(Parameters parameters);

    /// @notice Records an audit of `account`. AUDITOR_ROLE (the policy oracle) only.
    function recordAudit(address account, bool passed) external;

    /// @notice Sets how audits move scores. REGULATOR_ROLE only.
    function setParameters(Parameters calldata parameters) external;

    function scoreOf(address account) external view returns (uint256);

    /// @notice maxDiscountBps * score / (score + halfDiscountScore): zero at score 0,
    /// monotone in the score, and always below maxDiscountBps.
    function discountBpsOf(address account) external view returns (uint256);

    function parameters() external view returns (Parameters memory);
}
