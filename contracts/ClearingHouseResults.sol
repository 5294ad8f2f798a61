// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IPolicyRegistry} from "./interfaces/IPolicyRegistry.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";
import {BidLib} from "./libraries/BidLib.sol";
import {PriceLib} from "./libraries/PriceLib.sol";

/// @title A round's results: the auctioneer's post, challenges, the quorum's prices, and the
/// futures issued from the final allocation
/// @dev Runs only by delegatecall from `ClearingHouse`, on its storage, with its roles; called
/// directly it reads its own empty storage and holds no role anywhere, so every call fails.
contract ClearingHouseResults is ClearingHouseBase {
    uint8 private constant SOLVER_OPTIMAL = 1;
    uint8 private constant SOLVER_FEASIBLE = 2;
    uint8 private constant KIND_GPU = 0;
    uint256 private constant TIERS = 3;

    /// @dev An item's totals while a batch of fills is checked.
    struct ItemTally {
        bool loaded;
        address provider;
        uint256 reservePriceMicroUsd;
        uint8 tier;
        uint8 kind;
        uint256 capacity;
        uint256 allocated;
        uint256 unreserved;
        uint256 deliveryEnd;
    }

    constructor(
        address governance,
        ISafetyVault vault_,
        IReputationRegistry reputation_,
        IPolicyOracle oracle_,
        IPrivacyBudgetLedger ledger_,
        IComputeFutures futures_,
        IERC20 paymentToken_,
        address treasury_
    ) ClearingHouseBase(governance, vault_, reputation_, oracle_, ledger_, futures_, paymentToken_, treasury_) {}

    function post(uint32 roundId, Fill[] calldata fills, SolverClaim calldata claim)
        external
        onlyRole(AUCTIONEER_ROLE)
        nonReentrant
    {
        Round storage round = _requirePhase(roundId, Phase.Post);
        if (claim.status != SOLVER_OPTIMAL && claim.status != SOLVER_FEASIBLE) {
            revert UnknownCode("solverStatus", claim.status);
        }
        Result storage result = _results[roundId][POSTED_VERSION];
        address poster = result.poster;
        if (poster == address(0)) {
            result.poster = msg.sender;
            round.standingVersion = POSTED_VERSION;
        } else if (poster != msg.sender) {
            revert NotPoster(msg.sender, poster);
        }
        result.solverStatus = claim.status;
        result.boundMicroUsd = claim.boundMicroUsd;
        emit SolverClaimed(roundId, claim.status, claim.boundMicroUsd);
        _appendBatch(round, roundId, POSTED_VERSION, result, fills);
        uint256 bondWei = _rules[roundId].rates.auctioneerBondWei;
        if (poster == address(0) && bondWei != 0) vault.lockBond(msg.sender, bondWei);
    }

    function challenge(uint32 roundId, uint32 version, Fill[] calldata fills, bool seal)
        external
        nonReentrant
        returns (uint32)
    {
        Round storage round = _requirePhase(roundId, Phase.Challenge);
        Result storage result;
        if (version == 0) {
            version = ++round.versionCount;
            result = _results[roundId][version];
            result.poster = msg.sender;
        } else {
            if (version == POSTED_VERSION) revert NotAChallenge(roundId, version);
            result = _results[roundId][version];
            if (result.poster != msg.sender) revert NotPoster(msg.sender, result.poster);
            if (result.isSealed) revert ResultSealed(roundId, version);
        }
        if (fills.length != 0) _appendBatch(round, roundId, version, result, fills);
        if (seal) _seal(round, roundId, version, result);
        return version;
    }

    function price(
        uint32 roundId,
        uint64[] calldata itemPricesMicroUsd,
        uint64[] calldata paymentsMicroUsd,
        IPolicyOracle.Signature[] calldata signatures
    ) external nonReentrant {
        Round storage round = _requirePhase(roundId, Phase.Price);
        uint32 version = round.standingVersion;
        Result storage result = _results[roundId][version];
        if (itemPricesMicroUsd.length != round.itemCount) {
            revert LengthMismatch(itemPricesMicroUsd.length, round.itemCount);
        }
        if (paymentsMicroUsd.length != result.fillCount) revert LengthMismatch(paymentsMicroUsd.length, result.fillCount);
        bytes32 report = PriceLib.hash(
            address(this), roundId, version, itemPricesMicroUsd, paymentsMicroUsd, oracle.configDigest()
        );
        oracle.verifyQuorum(report, signatures);
        round.priced = true;
        mapping(uint256 => Batch) storage batches = _batches[roundId][version];
        uint256 start = 0;
        for (uint256 b = 0; b < result.batchCount; ++b) {
            Batch storage batch = batches[b];
            uint256 end = start + batch.fillCount;
            bytes32 paymentsHash = keccak256(abi.encodePacked(paymentsMicroUsd[start:end]));
            batch.hash = keccak256(abi.encode(batch.hash, paymentsHash));
            start = end;
        }
        emit Priced(roundId, version, itemPricesMicroUsd, paymentsMicroUsd);
    }

    function finalise(uint32 roundId, uint256 batch, Award[] calldata awards, uint64[] calldata payments)
        external
        nonReentrant
    {
        Round storage round = _requirePhase(roundId, Phase.Final);
        uint32 version = round.standingVersion;
        bool priced = round.priced;
        bytes32 expected = keccak256(abi.encode(awards));
        if (priced) expected = keccak256(abi.encode(expected, keccak256(abi.encodePacked(payments))));
        else if (payments.length != 0) revert LengthMismatch(payments.length, 0);
        if (_batches[roundId][version][batch].hash != expected) revert BatchMismatch(roundId, version, batch);
        delete _batches[roundId][version][batch];
        for (uint256 i = 0; i < awards.length; ++i) {
            Award calldata award = awards[i];
            uint256 paymentMicroUsd = priced ? _withinBundle(payments[i], award) : award.reserveMicroUsd;
            _issue(roundId, award, paymentMicroUsd);
        }
        round.issuedCount += uint32(awards.length);
    }

    function release(uint32 roundId, bytes32[] calldata losers) external nonReentrant {
        Round storage round = _requirePhase(roundId, Phase.Final);
        uint256 fills = _results[roundId][round.standingVersion].fillCount;
        // Until every future is issued a winner's record still reads Revealed, like a loser's.
        if (round.issuedCount != fills) revert NotAllIssued(roundId, round.issuedCount, fills);
        for (uint256 i = 0; i < losers.length; ++i) {
            bytes32 digest = losers[i];
            BidState memory state = _revealedIn(roundId, digest);
            state.status = Status.Released;
            _setState(digest, state);
            emit Released(digest, roundId);
            BidRecord storage record = _bids[digest];
            _releaseHolds(state, record.bidder, record.datasetId);
        }
    }

    function close(uint32 roundId) external nonReentrant {
        Round storage round = _requirePhase(roundId, Phase.Final);
        if (round.closed) revert RoundClosed(roundId);
        uint32 version = round.standingVersion;
        uint256 fills = _results[roundId][version].fillCount;
        // The futures' count per provider is complete only once every batch is issued.
        if (round.issuedCount != fills) revert NotAllIssued(roundId, round.issuedCount, fills);
        round.closed = true;
        emit Closed(roundId);
        IPolicyRegistry.Rates memory rates = _rules[roundId].rates;
        uint256 bondWei = version == POSTED_VERSION ? rates.auctioneerBondWei : rates.challengerBondWei;
        if (version != 0 && bondWei != 0) vault.releaseBond(_results[roundId][version].poster, bondWei);
        _holdDeliveryBonds(roundId, rates.providerSlashWei);
    }

    // ---- checking fills ----

    /// @dev Checks a batch of fills against their bids and the round's policy, tallying items and
    /// risk loads in memory so each touched allocation word is written once per batch; keeps the
    /// batch as the hash of its awards.
    function _appendBatch(
        Round storage round,
        uint32 roundId,
        uint32 version,
        Result storage result,
        Fill[] calldata fills
    ) private {
        IPolicyRegistry.Rules memory rules = _rules[roundId];
        ItemTally[] memory tallies = new ItemTally[](round.itemCount);
        uint256[4] memory loads;
        for (uint256 k = 0; k < 4; ++k) {
            loads[k] = result.riskLoads[k];
        }
        Award[] memory awards = new Award[](fills.length);
        bytes32 previous = result.lastDigest;
        uint256 welfareMicroUsd = result.welfareMicroUsd;
        for (uint256 i = 0; i < fills.length; ++i) {
            uint256 scratch = _freeMemory();
            Award memory award = awards[i];
            _applyFill(roundId, version, rules, fills[i], tallies, loads, award);
            if (award.bidDigest <= previous) revert FillsNotAscending(award.bidDigest, previous);
            previous = award.bidDigest;
            welfareMicroUsd += award.valueMicroUsd - award.reserveMicroUsd;
            // What checking the fill allocated (its digest's preimages, its reads) is dead: reuse
            // it, or memory, whose cost grows with the square of its size, would dominate a
            // large batch.
            _reclaimMemory(scratch);
        }
        _writeAllocations(roundId, version, rules.equityReservationBps, tallies);
        _storeRiskLoads(roundId, rules, loads, result);
        result.lastDigest = previous;
        result.welfareMicroUsd = uint128(welfareMicroUsd);
        result.fillCount += uint32(fills.length);
        uint256 batch = result.batchCount++;
        _batches[roundId][version][batch] = Batch(keccak256(abi.encode(awards)), uint32(fills.length));
        emit BatchPosted(roundId, version, result.poster, batch, awards, welfareMicroUsd);
    }

    /// @dev Checks one fill and writes what its batch keeps of it into `award`.
    function _applyFill(
        uint32 roundId,
        uint32 version,
        IPolicyRegistry.Rules memory rules,
        Fill calldata fill,
        ItemTally[] memory tallies,
        uint256[4] memory loads,
        Award memory award
    ) private view {
        bytes32 digest = _fillDigest(fill);
        _revealedIn(roundId, digest);
        uint256 band = _band(rules, fill.terms.riskBps);
        bool equity = (rules.equityClassMask >> fill.terms.equityClass) & 1 == 1;
        (uint256 reserveMicroUsd, uint256[3] memory gpuUnits) =
            _allocate(roundId, version, digest, fill.bundle, rules.bandTierMasks[band], equity, tallies);
        uint256 weight = rules.bandRiskWeights[band];
        for (uint256 tier = 0; tier < TIERS; ++tier) {
            loads[tier] += weight * gpuUnits[tier];
            loads[TIERS] += weight * gpuUnits[tier];
        }
        uint64 valueMicroUsd = fill.bundle.valueMicroUsd;
        if (valueMicroUsd < reserveMicroUsd) revert BelowReserve(digest, valueMicroUsd, reserveMicroUsd);
        award.bidDigest = digest;
        award.bundleIndex = fill.bundleIndex;
        award.providerItem = _lastToEnd(fill.bundle.items, tallies);
        award.valueMicroUsd = valueMicroUsd;
        // Fits: the reserve is at most the value, a uint64.
        award.reserveMicroUsd = uint64(reserveMicroUsd);
    }

    /// @dev The digest of the bid whose envelope holds `fill.bundle` at `fill.bundleIndex`
    /// among the other bundles' hashes; a fill of anything but a revealed bundle names a digest
    /// with no revealed record.
    function _fillDigest(Fill calldata fill) private view returns (bytes32) {
        bytes32[] calldata others = fill.otherBundleHashes;
        uint256 index = fill.bundleIndex;
        if (index > others.length) revert MalformedEnvelope(others.length + 1);
        bytes32 envelopeHash = BidLib.hashEnvelope(fill.bundle, index, others, fill.salt);
        return _hashTypedDataV4(BidLib.hash(fill.terms, envelopeHash));
    }

    /// @dev Adds the bundle's units to the tallies; every item must be the same provider's
    /// (one provider's enclave runs the job and answers for it) and of a tier the bid's risk
    /// band may use. Returns the bundle's reserve cost and its GPU units per tier.
    function _allocate(
        uint32 roundId,
        uint32 version,
        bytes32 digest,
        BidLib.Bundle calldata bundle,
        uint8 tierMask,
        bool equity,
        ItemTally[] memory tallies
    ) private view returns (uint256 reserveMicroUsd, uint256[3] memory gpuUnits) {
        uint16[] calldata items = bundle.items;
        address provider;
        for (uint256 j = 0; j < items.length; ++j) {
            uint16 item = items[j];
            ItemTally memory tally = tallies[item];
            if (!tally.loaded) _load(roundId, version, item, tally);
            if (j == 0) provider = tally.provider;
            else if (tally.provider != provider) revert MixedProviders(digest, provider, tally.provider);
            if ((tierMask >> tally.tier) & 1 == 0) revert TierNotAllowed(digest, item, tally.tier);
            uint256 quantity = bundle.quantities[j];
            tally.allocated += quantity;
            if (!equity) tally.unreserved += quantity;
            if (tally.kind == KIND_GPU) gpuUnits[tally.tier] += quantity;
            reserveMicroUsd += quantity * tally.reservePriceMicroUsd;
        }
    }

    /// @dev The bundle's item whose slot ends last (the first of them on a tie); all are loaded.
    function _lastToEnd(uint16[] calldata items, ItemTally[] memory tallies) private pure returns (uint16 last) {
        uint256 latestEnd;
        for (uint256 j = 0; j < items.length; ++j) {
            uint256 end = tallies[items[j]].deliveryEnd;
            if (end > latestEnd) (latestEnd, last) = (end, items[j]);
        }
    }

    function _load(uint32 roundId, uint32 version, uint16 item, ItemTally memory tally) private view {
        AskState memory ask = _asks[roundId][item];
        tally.loaded = true;
        tally.provider = ask.provider;
        tally.capacity = ask.capacity;
        tally.reservePriceMicroUsd = ask.reservePriceMicroUsd;
        tally.tier = ask.tier;
        tally.kind = ask.kind;
        tally.deliveryEnd = ask.deliveryEndTimestamp;
        uint256 lane = _allocations[roundId][version][item / 4] >> ((item % 4) * 64);
        tally.allocated = uint32(lane);
        tally.unreserved = uint32(lane >> 32);
    }

    /// @dev Writes back every allocation word a batch touched, once each tally passes capacity
    /// and the equity reservation.
    function _writeAllocations(uint32 roundId, uint32 version, uint256 reservationBps, ItemTally[] memory tallies)
        private
    {
        mapping(uint256 => uint256) storage words = _allocations[roundId][version];
        for (uint256 first = 0; first < tallies.length; first += 4) {
            uint256 word = words[first / 4];
            bool touched = false;
            for (uint256 item = first; item < first + 4 && item < tallies.length; ++item) {
                ItemTally memory tally = tallies[item];
                if (!tally.loaded) continue;
                touched = true;
                if (tally.allocated > tally.capacity) {
                    revert OverAllocated(roundId, item, tally.allocated, tally.capacity);
                }
                uint256 open = tally.capacity - tally.capacity * reservationBps / BPS;
                if (tally.unreserved > open) revert ReservationBreached(roundId, item, tally.unreserved, open);
                uint256 shift = (item % 4) * 64;
                word = (word & ~(uint256(type(uint64).max) << shift))
                    | ((tally.allocated | (tally.unreserved << 32)) << shift);
            }
            if (touched) words[first / 4] = word;
        }
    }

    function _storeRiskLoads(uint32 roundId, IPolicyRegistry.Rules memory rules, uint256[4] memory loads, Result storage result)
        private
    {
        for (uint256 tier = 0; tier <= TIERS; ++tier) {
            uint256 cap = tier == TIERS ? rules.totalRiskCap : rules.tierRiskCaps[tier];
            if (loads[tier] > cap) revert RiskCapExceeded(roundId, tier, loads[tier], cap);
            // Fits: a cap is a uint64.
            result.riskLoads[tier] = uint64(loads[tier]);
        }
    }

    function _freeMemory() private pure returns (uint256 pointer) {
        assembly ("memory-safe") {
            pointer := mload(0x40)
        }
    }

    /// @dev Frees every allocation made since `pointer` was read; nothing live may lie beyond it.
    function _reclaimMemory(uint256 pointer) private pure {
        assembly ("memory-safe") {
            mstore(0x40, pointer)
        }
    }

    /// @dev The highest band whose minimum `riskBps` reaches; commit refused any below the first.
    function _band(IPolicyRegistry.Rules memory rules, uint256 riskBps) private pure returns (uint256) {
        if (riskBps >= rules.bandMinBps[2]) return 2;
        if (riskBps >= rules.bandMinBps[1]) return 1;
        return 0;
    }

    /// @dev A challenge that beats the standing result by the policy's step stands; the window
    /// reopens for an answer, within the hard final deadline.
    function _seal(Round storage round, uint32 roundId, uint32 version, Result storage result) private {
        result.isSealed = true;
        IPolicyRegistry.Rates memory rates = _rules[roundId].rates;
        uint32 replacedVersion = round.standingVersion;
        Result storage replaced = _results[roundId][replacedVersion];
        uint256 standingMicroUsd = replaced.welfareMicroUsd;
        uint256 stepMicroUsd = standingMicroUsd * rates.minImprovementBps / BPS;
        uint256 neededMicroUsd = standingMicroUsd + (stepMicroUsd == 0 ? 1 : stepMicroUsd);
        uint256 welfareMicroUsd = result.welfareMicroUsd;
        if (welfareMicroUsd < neededMicroUsd) revert WelfareNotHigher(roundId, welfareMicroUsd, neededMicroUsd);
        round.standingVersion = version;
        uint64 challengeEnd = _extendWindow(round, rates);
        uint256 slashedWei = _settleReplacedBond(rates, replacedVersion, replaced, welfareMicroUsd);
        emit ResultReplaced(roundId, version, msg.sender, replacedVersion, welfareMicroUsd, slashedWei, challengeEnd);
        if (rates.challengerBondWei != 0) vault.lockBond(msg.sender, rates.challengerBondWei);
    }

    /// @dev One answer window from now, never past the challenge deadline plus the policy's
    /// extension, never shortening the window.
    function _extendWindow(Round storage round, IPolicyRegistry.Rates memory rates) private returns (uint64 challengeEnd) {
        uint64 answerEnd = uint64(block.timestamp) + rates.answerWindowSeconds;
        uint64 finalEnd = round.deadlines.challengeTimestamp + rates.maxExtensionSeconds;
        if (answerEnd > finalEnd) answerEnd = finalEnd;
        challengeEnd = round.challengeEndTimestamp;
        if (answerEnd > challengeEnd) {
            challengeEnd = answerEnd;
            round.challengeEndTimestamp = answerEnd;
        }
    }

    /// @dev The replaced poster's locked bond. The auctioneer's loses its slash only when the
    /// new result beats the bound it claimed — an honest auctioneer on an instance nobody can
    /// prove is not taxed for its gap — and the slash is burned, not paid: the auctioneer could
    /// otherwise recover it by challenging its own result from another account. A challenger's
    /// bond is the answer's.
    function _settleReplacedBond(IPolicyRegistry.Rates memory rates, uint32 replacedVersion, Result storage replaced, uint256 welfare)
        private
        returns (uint256 slashedWei)
    {
        if (replacedVersion == 0) return 0;
        address poster = replaced.poster;
        if (replacedVersion != POSTED_VERSION) {
            uint256 bondWei = rates.challengerBondWei;
            return bondWei == 0 ? 0 : vault.seizeLockedBond(poster, bondWei, msg.sender);
        }
        uint256 slashWei = welfare > _claimedBound(replaced, rates) ? rates.auctioneerSlashWei : 0;
        if (slashWei != 0) slashedWei = vault.seizeLockedBond(poster, slashWei, address(0));
        uint256 keptWei = rates.auctioneerBondWei - slashWei;
        if (keptWei != 0) vault.releaseBond(poster, keptWei);
    }

    /// @dev A result claimed optimal is bounded by its own welfare; a feasible one by the bound
    /// it claimed, but never beyond the gap the policy allows a claim (else an auctioneer could
    /// claim an absurd bound and never be slashed).
    function _claimedBound(Result storage result, IPolicyRegistry.Rates memory rates) private view returns (uint256) {
        uint256 welfare = result.welfareMicroUsd;
        if (result.solverStatus == SOLVER_OPTIMAL) return welfare;
        uint256 bound = result.boundMicroUsd;
        uint256 widest = welfare + welfare * rates.maxClaimedGapBps / BPS;
        if (bound > widest) bound = widest;
        return bound > welfare ? bound : welfare;
    }

    /// @dev Of each provider's ask bond, keeps one slash per future it sold (the policy made each
    /// unit offered lock at least that) and releases the rest.
    function _holdDeliveryBonds(uint32 roundId, uint256 slashWei) private {
        address[] storage providers = _providers[roundId];
        for (uint256 i = 0; i < providers.length; ++i) {
            address provider = providers[i];
            ProviderBond storage bond = _providerBonds[roundId][provider];
            uint256 lockedWei = bond.lockedWei;
            uint256 futures = bond.openFutures;
            uint256 heldWei = futures * slashWei;
            if (heldWei > lockedWei) heldWei = lockedWei;
            bond.lockedWei = uint128(heldWei);
            emit DeliveryBondHeld(roundId, provider, heldWei, futures);
            if (lockedWei > heldWei) vault.releaseBond(provider, lockedWei - heldWei);
        }
    }

    // ---- final phase internals ----

    /// @dev The quorum's payment, held between the bundle's reserve cost and its value: the
    /// chain guarantees both whatever was signed.
    function _withinBundle(uint256 paymentMicroUsd, Award calldata award) private pure returns (uint256) {
        if (paymentMicroUsd < award.reserveMicroUsd) return award.reserveMicroUsd;
        if (paymentMicroUsd > award.valueMicroUsd) return award.valueMicroUsd;
        return paymentMicroUsd;
    }

    function _issue(uint32 roundId, Award calldata award, uint256 paymentMicroUsd) private {
        bytes32 digest = award.bidDigest;
        BidState memory state = _revealedIn(roundId, digest);
        state.status = Status.Future;
        state.bundleIndex = award.bundleIndex;
        state.providerItem = award.providerItem;
        // Fits: at most the bundle's value, which reveal held to the deposit, below 2^48.
        state.paymentMicroUsd = uint48(paymentMicroUsd);
        _setState(digest, state);
        _providerBonds[roundId][_asks[roundId][award.providerItem].provider].openFutures += 1;
        emit Issued(digest, roundId, paymentMicroUsd);
    }

    function _revealedIn(uint32 roundId, bytes32 digest) private view returns (BidState memory state) {
        state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Revealed);
        if (state.roundId != roundId) revert BidFromOtherRound(digest, state.roundId);
    }
}
