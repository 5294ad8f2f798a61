// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";

/// @title Reputation scores moved by audits weighted by their worth; a saturating stake
/// discount derived from them
contract ReputationRegistry is IReputationRegistry, AccessControl {
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    /// @dev Granted to the clearing house: only verdicts and time-outs move scores.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    uint256 private constant BPS = 10_000;

    /// @dev `Parameters` reordered so the two fields a discount reads share a slot: the vault
    /// reads the discount in every bid's commit.
    struct Stored {
        uint16 maxDiscountBps;
        uint64 halfDiscountMicroUsd;
        uint64 failMultiple;
        uint64 maxScoreMicroUsd;
        uint64 counterpartyCapMicroUsd;
    }

    Stored private _parameters;
    mapping(address account => uint256) private _scores;
    mapping(address account => mapping(address counterparty => uint256)) private _earned;

    constructor(address governance, Parameters memory initial) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
        _setParameters(initial);
    }

    function recordAudit(address account, address counterparty, bool passed, uint256 worthMicroUsd)
        external
        onlyRole(AUDITOR_ROLE)
    {
        Stored memory p = _parameters;
        uint256 score = _scores[account];
        if (passed) {
            uint256 earned = _earned[account][counterparty];
            // The regulator may lower the cap below what was earned: nothing more is earned then.
            uint256 room = p.counterpartyCapMicroUsd > earned ? p.counterpartyCapMicroUsd - earned : 0;
            uint256 credit = worthMicroUsd < room ? worthMicroUsd : room;
            if (credit != 0) _earned[account][counterparty] = earned + credit;
            score += credit;
            if (score > p.maxScoreMicroUsd) score = p.maxScoreMicroUsd;
        } else {
            uint256 penalty = worthMicroUsd * p.failMultiple;
            score = score > penalty ? score - penalty : 0;
        }
        _scores[account] = score;
        emit AuditRecorded(account, counterparty, passed, worthMicroUsd, score);
    }

    function setParameters(Parameters calldata parameters_) external onlyRole(REGULATOR_ROLE) {
        _setParameters(parameters_);
    }

    function scoreOf(address account) external view returns (uint256) {
        return _scores[account];
    }

    function earnedFrom(address account, address counterparty) external view returns (uint256) {
        return _earned[account][counterparty];
    }

    function discountBpsOf(address account) external view returns (uint256) {
        uint256 score = _scores[account];
        // Zero at score zero whatever the parameters: an unaudited account's commit skips the read.
        if (score == 0) return 0;
        Stored storage p = _parameters;
        return (uint256(p.maxDiscountBps) * score) / (score + p.halfDiscountMicroUsd);
    }

    function parameters() external view returns (Parameters memory) {
        Stored memory p = _parameters;
        return Parameters(
            p.failMultiple, p.maxScoreMicroUsd, p.counterpartyCapMicroUsd, p.maxDiscountBps, p.halfDiscountMicroUsd
        );
    }

    function _setParameters(Parameters memory p) private {
        // halfDiscountMicroUsd > 0 keeps the discount defined (and zero) at score 0.
        if (p.maxDiscountBps >= BPS || p.halfDiscountMicroUsd == 0 || p.counterpartyCapMicroUsd == 0) {
            revert InvalidParameters();
        }
        _parameters = Stored(
            p.maxDiscountBps, p.halfDiscountMicroUsd, p.failMultiple, p.maxScoreMicroUsd, p.counterpartyCapMicroUsd
        );
        emit ParametersSet(p);
    }
}
