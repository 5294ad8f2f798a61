// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Reputation earned through audits, and the stake discount it buys
/// @notice A score is the worth of the audits an account passed, in micro-USD at risk (a job's
/// payment × its risk score), less a multiple of the worth of those it failed. Weighting by
/// worth makes a discount cost what it saves: trivial jobs earn next to nothing. One
/// counterparty's audits can add at most `counterpartyCapMicroUsd`, so a buyer and a provider
/// run by one owner cannot farm the maximum discount between themselves.
interface IReputationRegistry {
    /// @notice How audits move scores and how scores become discounts.
    /// @param failMultiple a failed audit removes this many times its worth (floored at zero)
    /// @param maxScoreMicroUsd scores never exceed this
    /// @param counterpartyCapMicroUsd the most an account's audits with one counterparty add
    /// @param maxDiscountBps the discount a score tends to; below 10000 so stake never vanishes
    /// @param halfDiscountMicroUsd the score at which the discount is half of maxDiscountBps
    struct Parameters {
        uint64 failMultiple;
        uint64 maxScoreMicroUsd;
        uint64 counterpartyCapMicroUsd;
        uint16 maxDiscountBps;
        uint64 halfDiscountMicroUsd;
    }

    error InvalidParameters();

    event AuditRecorded(
        address indexed account, address indexed counterparty, bool passed, uint256 worthMicroUsd, uint256 score
    );
    event ParametersSet(Parameters parameters);

    /// @notice Records an audit of `account`'s part in a job with `counterparty` worth
    /// `worthMicroUsd`. AUDITOR_ROLE (the clearing house, on each verdict or time-out).
    function recordAudit(address account, address counterparty, bool passed, uint256 worthMicroUsd)
        external;

    /// @notice Sets how audits move scores. REGULATOR_ROLE only.
    function setParameters(Parameters calldata parameters) external;

    function scoreOf(address account) external view returns (uint256);

    /// @notice What `account`'s passed audits with `counterparty` have added to its score.
    function earnedFrom(address account, address counterparty) external view returns (uint256);

    /// @notice maxDiscountBps * score / (score + halfDiscountMicroUsd): zero at score 0,
    /// monotone in the score, and always below maxDiscountBps.
    function discountBpsOf(address account) external view returns (uint256);

    function parameters() external view returns (Parameters memory);
}
