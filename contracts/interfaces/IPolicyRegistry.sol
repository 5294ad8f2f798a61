// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The regulator's round policies: what every round of the market must obey
/// @notice A policy is registered once and never changes; the latest registered is current,
/// and a clearing house pins the current one's rules into each round it opens, so no rule,
/// rate or bond of a round in flight can change. Risk is written over bands of basis points
/// of a bid's notional (`riskBps`, what its CST stake is computed from), so how a bid's
/// `riskBps` is assessed can change without touching what the bands allow.
interface IPolicyRegistry {
    /// @notice Bond, slash and timing rates of the rounds a policy governs. A provider's
    /// fault costs it `providerSlashWei` per future, out of the bond its asks locked: each unit
    /// offered locks at least that much, so every future sold (one unit or more) has its slash
    /// held. A redeemed job with no verdict `verdictWindowSeconds` after its delivery ends
    /// times out.
    struct Rates {
        uint96 auctioneerBondWei;
        uint96 auctioneerSlashWei;
        uint64 forfeitFeeMicroUsd;
        uint96 challengerBondWei;
        uint96 providerBondPerUnitWei;
        uint16 forfeitBps;
        uint16 minImprovementBps;
        uint16 maxItemsPerProvider;
        uint16 maxClaimedGapBps;
        uint96 providerSlashWei;
        uint32 answerWindowSeconds;
        uint32 maxExtensionSeconds;
        uint32 pricingWindowSeconds;
        uint32 verdictWindowSeconds;
    }

    /// @notice What the chain enforces. Three risk bands (low, medium, high): a bid's band is
    /// the highest whose `bandMinBps` its `riskBps` reaches; below the first, or above 10 000,
    /// the bid is refused. Tier codes: 0 standard, 1 certified, 2 confidential; a band's tier
    /// mask has bit t set when it may use tier t. A bundle's risk load is its band's weight
    /// times its GPU units, capped per tier and in total (`NO_CAP` for none). Equity classes
    /// are codes below `equityClassCount`; those in `equityClassMask` may use the share of every
    /// item's capacity the reservation keeps for them.
    struct Rules {
        uint16[3] bandMinBps;
        uint8[3] bandTierMasks;
        uint16[3] bandRiskWeights;
        uint64[3] tierRiskCaps;
        uint64 totalRiskCap;
        uint8 equityClassCount;
        uint8 equityClassMask;
        uint16 equityReservationBps;
        Rates rates;
    }

    /// @notice A purpose (by name; bids carry keccak256 of it) and the most ε a bid for it may
    /// spend. A purpose not listed may use no private data.
    struct PurposeLimit {
        string purpose;
        uint32 maxEpsilonMicros;
    }

    /// @notice The Ethical Pricing Function's weights: the chain does not use them, but pins
    /// them with the round so every oracle node prices the round alike.
    struct PricingWeights {
        uint32 privacyBps;
        uint32[3] safetyBps;
        uint32 equityDiscountBps;
    }

    /// @notice `rubricHash` is keccak256 of the regulator's risk rubric file (`risk/rubrics/`):
    /// the scoring a bid's `riskBps` must reach. The chain cannot run it; buyers' clients score
    /// their declarations with it and the oracle rechecks what ran. It sits beside the rules,
    /// not in them, because a round copies its rules and never reads the rubric: the round's
    /// policy id pins it, as policies never change.
    struct Policy {
        Rules rules;
        PurposeLimit[] epsilonLimits;
        PricingWeights pricing;
        bytes32 rubricHash;
    }

    error InvalidPolicy(bytes32 field);
    error NoPolicy();

    event PolicySet(uint32 indexed policyId, Policy policy);

    /// @notice Registers a policy and makes it current. REGULATOR_ROLE.
    function setPolicy(Policy calldata policy) external returns (uint32 policyId);

    /// @notice The policy new rounds pin; reverts `NoPolicy` before the first is registered.
    function currentPolicyId() external view returns (uint32);

    function rulesOf(uint32 policyId) external view returns (Rules memory);

    /// @notice The rubric the policy's rounds score risk with; zero for no policy.
    function rubricHashOf(uint32 policyId) external view returns (bytes32);

    /// @notice The most ε (micro) a bid for `purpose` (keccak256 of its name) may spend under
    /// the policy; 0 for a purpose it does not list.
    function epsilonLimitOf(uint32 policyId, bytes32 purpose) external view returns (uint32);
}
