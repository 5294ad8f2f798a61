// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPolicyRegistry} from "./interfaces/IPolicyRegistry.sol";

/// @title The regulator's round policies, each immutable once registered
contract PolicyRegistry is IPolicyRegistry, AccessControl {
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    uint256 private constant BPS = 10_000;
    uint256 private constant TIERS = 3;
    /// @dev Pricing weights are basis points of a payment and may exceed it (as `market/` allows).
    uint256 private constant MAX_WEIGHT_BPS = 100 * BPS;

    uint32 private _policyCount;
    mapping(uint32 policyId => Rules) private _rules;
    mapping(uint32 policyId => bytes32) private _rubricHashes;
    mapping(uint32 policyId => mapping(bytes32 purpose => uint32 maxEpsilonMicros)) private _epsilonLimits;

    constructor(address governance) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
    }

    function setPolicy(Policy calldata policy) external onlyRole(REGULATOR_ROLE) returns (uint32 policyId) {
        _checkPolicy(policy);
        policyId = ++_policyCount;
        _rules[policyId] = policy.rules;
        _rubricHashes[policyId] = policy.rubricHash;
        for (uint256 i = 0; i < policy.epsilonLimits.length; ++i) {
            PurposeLimit calldata limit = policy.epsilonLimits[i];
            _epsilonLimits[policyId][keccak256(bytes(limit.purpose))] = limit.maxEpsilonMicros;
        }
        emit PolicySet(policyId, policy);
    }

    function currentPolicyId() external view returns (uint32) {
        uint32 policyId = _policyCount;
        if (policyId == 0) revert NoPolicy();
        return policyId;
    }

    function rulesOf(uint32 policyId) external view returns (Rules memory) {
        return _rules[policyId];
    }

    function rubricHashOf(uint32 policyId) external view returns (bytes32) {
        return _rubricHashes[policyId];
    }

    function epsilonLimitOf(uint32 policyId, bytes32 purpose) external view returns (uint32) {
        return _epsilonLimits[policyId][purpose];
    }

    function _checkPolicy(Policy calldata policy) private pure {
        Rules calldata rules = policy.rules;
        uint16[3] calldata bands = rules.bandMinBps;
        if (bands[0] == 0 || bands[0] >= bands[1] || bands[1] >= bands[2] || bands[2] > BPS) {
            revert InvalidPolicy("bandMinBps");
        }
        for (uint256 band = 0; band < 3; ++band) {
            if (rules.bandTierMasks[band] >= 1 << TIERS) revert InvalidPolicy("bandTierMasks");
        }
        uint256 classes = rules.equityClassCount;
        if (classes == 0 || classes > 8 || rules.equityClassMask >= 1 << classes) revert InvalidPolicy("equityClasses");
        if (rules.equityReservationBps > BPS) revert InvalidPolicy("equityReservationBps");
        Rates calldata rates = rules.rates;
        if (rates.auctioneerSlashWei > rates.auctioneerBondWei) revert InvalidPolicy("auctioneerSlashWei");
        if (rates.forfeitBps > BPS) revert InvalidPolicy("forfeitBps");
        if (rates.minImprovementBps > BPS) revert InvalidPolicy("minImprovementBps");
        if (rates.maxItemsPerProvider == 0) revert InvalidPolicy("maxItemsPerProvider");
        // An answer window longer than the extensions allowed could not be given in full.
        if (rates.answerWindowSeconds == 0 || rates.maxExtensionSeconds < rates.answerWindowSeconds) {
            revert InvalidPolicy("answerWindowSeconds");
        }
        if (rates.pricingWindowSeconds == 0) revert InvalidPolicy("pricingWindowSeconds");
        if (rates.verdictWindowSeconds == 0) revert InvalidPolicy("verdictWindowSeconds");
        // Each unit offered holds one future's slash, so a provider's fault always finds it.
        if (rates.providerSlashWei > rates.providerBondPerUnitWei) revert InvalidPolicy("providerSlashWei");
        PricingWeights calldata pricing = policy.pricing;
        uint32[3] calldata safety = pricing.safetyBps;
        // A premium that fell with risk would reward a bid for declaring more of it.
        bool ordered = safety[0] <= safety[1] && safety[1] <= safety[2];
        bool bounded = safety[2] <= MAX_WEIGHT_BPS && pricing.privacyBps <= MAX_WEIGHT_BPS
            && pricing.equityDiscountBps <= MAX_WEIGHT_BPS;
        if (!ordered || !bounded) revert InvalidPolicy("pricing");
        // Without a rubric no client could score a bid, and every stake would be the buyer's word.
        if (policy.rubricHash == bytes32(0)) revert InvalidPolicy("rubricHash");
    }

}
