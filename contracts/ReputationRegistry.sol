// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";

/// @title Reputation scores moved by audits; a saturating stake discount derived from them
contract ReputationRegistry is IReputationRegistry, AccessControl {
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    /// @dev Granted to the policy oracle: only audited verdicts move scores.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    uint256 private constant BPS = 10_000;

    /// @dev `Parameters` reordered so the two fields a discount reads share a slot: the vault
    /// reads the discount in every bid's commit.
    struct Stored {
        uint16 maxDiscountBps;
        uint64 halfDiscountScore;
        uint64 passReward;
        uint64 failPenalty;
        uint64 maxScore;
    }

    Stored private _parameters;
    mapping(address account => uint256) private _scores;

    constructor(address governance, Parameters memory initial) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
        _setParameters(initial);
    }

    function recordAudit(address account, bool passed) external onlyRole(AUDITOR_ROLE) {
        Stored memory p = _parameters;
        uint256 score = _scores[account];
        if (passed) {
            score += p.passReward;
            if (score > p.maxScore) score = p.maxScore;
        } else {
            score = score > p.failPenalty ? score - p.failPenalty : 0;
        }
        _scores[account] = score;
        emit AuditRecorded(account, passed, score);
    }

    function setParameters(Parameters calldata parameters_) external onlyRole(REGULATOR_ROLE) {
        _setParameters(parameters_);
    }

    function scoreOf(address account) external view returns (uint256) {
        return _scores[account];
    }

    function discountBpsOf(address account) external view returns (uint256) {
        uint256 score = _scores[account];
        // Zero at score zero whatever the parameters: an unaudited account's commit skips the read.
        if (score == 0) return 0;
        Stored storage p = _parameters;
        return (uint256(p.maxDiscountBps) * score) / (score + p.halfDiscountScore);
    }

    function parameters() external view returns (Parameters memory) {
        Stored memory p = _parameters;
        return Parameters(p.passReward, p.failPenalty, p.maxScore, p.maxDiscountBps, p.halfDiscountScore);
    }

    function _setParameters(Parameters memory p) private {
        // halfDiscountScore > 0 keeps the discount defined (and zero) at score 0.
        if (p.maxDiscountBps >= BPS || p.halfDiscountScore == 0 || p.passReward > p.maxScore) {
            revert InvalidParameters();
        }
        _parameters = Stored(p.maxDiscountBps, p.halfDiscountScore, p.passReward, p.failPenalty, p.maxScore);
        emit ParametersSet(p);
    }
}
