// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IPolicyRegistry} from "./interfaces/IPolicyRegistry.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";
import {BidLib} from "./libraries/BidLib.sol";

/// @title Sealed-bid rounds under the regulator's policy, results re-checked on chain, prices
/// co-signed by the oracle quorum
contract ClearingHouse is IClearingHouse, ClearingHouseBase {
    using SafeERC20 for IERC20;

    uint256 private constant KINDS = 3;
    uint256 private constant TIERS = 3;
    uint256 private constant DELTA_ONE_ATTO = 1e18;

    IPolicyRegistry public immutable policies;
    /// @dev Runs posts, challenges, pricing and finalisation on this contract's storage.
    address public immutable results;
    /// @dev Runs withdrawals, claims, redemptions and verdicts on this contract's storage.
    address public immutable delivery;

    constructor(
        address governance,
        ISafetyVault vault_,
        IReputationRegistry reputation_,
        IPolicyOracle oracle_,
        IPrivacyBudgetLedger ledger_,
        IComputeFutures futures_,
        IERC20 paymentToken_,
        address treasury_,
        IPolicyRegistry policies_,
        address results_,
        address delivery_
    ) ClearingHouseBase(governance, vault_, reputation_, oracle_, ledger_, futures_, paymentToken_, treasury_) {
        policies = policies_;
        results = results_;
        delivery = delivery_;
    }

    // ---- policy and rounds ----

    function openRound(Deadlines calldata deadlines) external onlyRole(AUCTIONEER_ROLE) returns (uint32 roundId) {
        bool ordered = block.timestamp < deadlines.commitTimestamp
            && deadlines.commitTimestamp < deadlines.revealTimestamp
            && deadlines.revealTimestamp < deadlines.postTimestamp
            && deadlines.postTimestamp < deadlines.challengeTimestamp;
        if (!ordered) revert InvalidDeadlines();
        uint32 policyId = policies.currentPolicyId();
        IPolicyRegistry.Rules memory rules = policies.rulesOf(policyId);
        roundId = ++_roundCount;
        // The round keeps its own copy: what it enforces cannot change until it ends.
        _rules[roundId] = rules;
        Round storage round = _rounds[roundId];
        round.deadlines = deadlines;
        round.policyId = policyId;
        round.minRiskBps = rules.bandMinBps[0];
        round.equityClassCount = rules.equityClassCount;
        round.versionCount = POSTED_VERSION;
        round.challengeEndTimestamp = deadlines.challengeTimestamp;
        emit RoundOpened(roundId, policyId, deadlines);
    }

    function postAsks(uint32 roundId, Ask[] calldata asks) external nonReentrant returns (uint16 firstItem) {
        Round storage round = _requirePhase(roundId, Phase.Commit);
        IPolicyRegistry.Rates storage rates = _rules[roundId].rates;
        firstItem = round.itemCount;
        uint256 count = firstItem + asks.length;
        if (count > MAX_ITEMS) revert TooManyItems(roundId, count, MAX_ITEMS);
        // Bounds what one provider can take of the round's item slots; each unit it offers
        // also costs it bond for the round.
        uint256 held = _providerItems[roundId][msg.sender];
        uint256 owned = held + asks.length;
        if (owned > rates.maxItemsPerProvider) {
            revert TooManyItemsOfProvider(roundId, msg.sender, owned, rates.maxItemsPerProvider);
        }
        if (held == 0) _providers[roundId].push(msg.sender);
        round.itemCount = uint16(count);
        _providerItems[roundId][msg.sender] = uint16(owned);
        // A slot must outlast the round: its futures are redeemable only once the round closes.
        uint256 latestFinal =
            uint256(round.deadlines.challengeTimestamp) + rates.maxExtensionSeconds + rates.pricingWindowSeconds;
        uint256 units;
        for (uint256 i = 0; i < asks.length; ++i) {
            units += _postAsk(roundId, uint16(firstItem + i), asks[i], i, latestFinal);
        }
        uint256 bondWei = units * rates.providerBondPerUnitWei;
        if (bondWei != 0) {
            _providerBonds[roundId][msg.sender].lockedWei += uint128(bondWei);
            vault.lockBond(msg.sender, bondWei);
        }
    }

    // ---- bids ----

    function deposit(uint256 amountMicroUsd) external nonReentrant {
        if (amountMicroUsd == 0) revert ZeroAmount();
        _credits[msg.sender] += amountMicroUsd;
        emit Deposited(msg.sender, amountMicroUsd);
        paymentToken.safeTransferFrom(msg.sender, address(this), amountMicroUsd);
    }

    function commit(BidLib.Terms calldata terms, bytes32 envelopeHash)
        external
        nonReentrant
        returns (bytes32 digest)
    {
        digest = _hashTypedDataV4(BidLib.hash(terms, envelopeHash));
        _checkCommitment(terms, digest);
        // Locked before the record is written because the amount is part of it; the vault calls
        // out to nothing but the reputation registry's view.
        uint256 stakeWei = vault.lockStake(terms.bidder, terms.riskBps, terms.maxValueMicroUsd, STAKE_UNIT_WEI);
        _recordCommitment(terms, digest, stakeWei);
        uint256 shortfallMicroUsd = _takeCredit(terms.bidder, terms.maxValueMicroUsd);
        uint256 remainingMicros =
            ledger.reserve(terms.datasetId, terms.bidder, terms.epsilonMicros, terms.purpose, terms.deltaAtto);
        emit Committed(digest, terms.roundId, terms.bidder, terms, envelopeHash, remainingMicros);
        if (shortfallMicroUsd != 0) paymentToken.safeTransferFrom(terms.bidder, address(this), shortfallMicroUsd);
    }

    function cancel(BidLib.Terms calldata terms, bytes32 envelopeHash) external nonReentrant {
        (bytes32 digest, BidState memory state) = _commitment(terms, envelopeHash);
        if (msg.sender != terms.bidder) revert NotBidder(msg.sender, terms.bidder);
        _requirePhase(state.roundId, Phase.Commit);
        state.status = Status.Cancelled;
        // Credited rather than left in the record: a bidder who cancels to change its bid
        // commits the new one from the credit, with no token transfer either way.
        state.flags |= REFUNDED;
        _setState(digest, state);
        _credits[terms.bidder] += state.depositMicroUsd;
        emit Cancelled(digest, state.roundId);
        _releaseHolds(state, terms.bidder, terms.datasetId);
    }

    function reveal(BidLib.Data calldata bid, bytes calldata signature) external {
        BidLib.Terms calldata terms = bid.terms;
        Round storage round = _requirePhase(terms.roundId, Phase.Reveal);
        // Checked here rather than at commit, where the registry call would cost every bid;
        // the client checks it before committing.
        uint256 limit = policies.epsilonLimitOf(round.policyId, terms.purpose);
        if (terms.epsilonMicros > limit) revert EpsilonAboveLimit(terms.purpose, terms.epsilonMicros, limit);
        bytes32 bundlesHash = _checkBundles(bid, terms.roundId, round.itemCount);
        bytes32 digest = _hashTypedDataV4(BidLib.hash(terms, BidLib.hashEnvelope(bundlesHash, bid.envelope.salt)));
        BidState memory state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Committed);
        _checkSignature(terms.bidder, digest, signature);
        state.status = Status.Revealed;
        _setState(digest, state);
        BidRecord storage record = _bids[digest];
        record.bidder = terms.bidder;
        record.datasetId = terms.datasetId;
        emit Revealed(digest, terms.roundId, bid);
    }

    function forfeit(BidLib.Terms calldata terms, bytes32 envelopeHash) external nonReentrant {
        (bytes32 digest, BidState memory state) = _commitment(terms, envelopeHash);
        Phase phase = _phase(state.roundId);
        if (phase < Phase.Post) revert WrongPhase(state.roundId, Phase.Post, phase);
        // A share of the deposit, not only a fee: a bidder holding several sealed bids who
        // reveals only the one that suits the others' reveals pays for the option it kept.
        IPolicyRegistry.Rates storage rates = _rules[state.roundId].rates;
        uint256 owed = rates.forfeitFeeMicroUsd + uint256(state.depositMicroUsd) * rates.forfeitBps / BPS;
        uint48 feeMicroUsd = owed < state.depositMicroUsd ? uint48(owed) : state.depositMicroUsd;
        state.status = Status.Forfeited;
        // The fee is what the bid "pays": its bidder withdraws the rest like any refund.
        state.paymentMicroUsd = feeMicroUsd;
        _setState(digest, state);
        BidRecord storage record = _bids[digest];
        record.bidder = terms.bidder;
        record.datasetId = terms.datasetId;
        _credits[treasury] += feeMicroUsd;
        emit Forfeited(digest, state.roundId, feeMicroUsd);
        _releaseHolds(state, terms.bidder, terms.datasetId);
    }

    // ---- results: run by the results module on this contract's storage ----

    function post(uint32, Fill[] calldata, SolverClaim calldata) external {
        _delegate(results);
    }

    function challenge(uint32, uint32, Fill[] calldata, bool) external returns (uint32) {
        _delegate(results);
    }

    function price(uint32, uint64[] calldata, uint64[] calldata, IPolicyOracle.Signature[] calldata) external {
        _delegate(results);
    }

    function finalise(uint32, uint256, Award[] calldata, uint64[] calldata) external {
        _delegate(results);
    }

    function release(uint32, bytes32[] calldata) external {
        _delegate(results);
    }

    function close(uint32) external {
        _delegate(results);
    }

    // ---- money and delivery: run by the delivery module on this contract's storage ----

    function withdraw(bytes32[] calldata) external {
        _delegate(delivery);
    }

    function claim(bytes32[] calldata) external {
        _delegate(delivery);
    }

    function claimFor(address, bytes32[] calldata, address) external {
        _delegate(delivery);
    }

    function redeem(uint256, bytes32) external {
        _delegate(delivery);
    }

    function onVerdict(bytes32, bool, uint8, bytes32) external {
        _delegate(delivery);
    }

    function expire(Expiry[] calldata) external {
        _delegate(delivery);
    }

    function timeOut(bytes32[] calldata) external {
        _delegate(delivery);
    }

    // ---- views ----

    function phaseOf(uint32 roundId) external view returns (Phase) {
        return _phase(roundId);
    }

    function roundOf(uint32 roundId) external view returns (Round memory) {
        return _rounds[roundId];
    }

    function resultOf(uint32 roundId, uint32 version) external view returns (Result memory) {
        return _results[roundId][version];
    }

    function batchOf(uint32 roundId, uint32 version, uint256 batch) external view returns (Batch memory) {
        return _batches[roundId][version][batch];
    }

    function askOf(uint32 roundId, uint16 item) external view returns (AskState memory) {
        return _asks[roundId][item];
    }

    function allocationOf(uint32 roundId, uint32 version, uint16 item)
        external
        view
        returns (uint32 allocated, uint32 unreserved)
    {
        uint256 lane = _allocations[roundId][version][item / 4] >> ((item % 4) * 64);
        return (uint32(lane), uint32(lane >> 32));
    }

    function bidOf(bytes32 digest) external view returns (BidRecord memory) {
        return _bids[digest];
    }

    function providerBondOf(uint32 roundId, address provider) external view returns (ProviderBond memory) {
        return _providerBonds[roundId][provider];
    }

    function redeemerOf(bytes32 futureId) external view returns (address) {
        return _redeemers[futureId];
    }

    function futureOf(bytes32 futureId) external view returns (Status, bool, uint256, uint8) {
        BidState storage state = _bids[futureId].state;
        return (
            state.status,
            state.flags & CLAIMED != 0,
            _asks[state.roundId][state.providerItem].deliveryEndTimestamp,
            state.bundleIndex
        );
    }

    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    function roundCount() external view returns (uint32) {
        return _roundCount;
    }

    function refundOf(bytes32 digest) external view returns (uint256) {
        return _refundable(_stateOf(digest));
    }

    function bidDigest(BidLib.Terms calldata terms, bytes32 envelopeHash) external view returns (bytes32) {
        return _hashTypedDataV4(BidLib.hash(terms, envelopeHash));
    }

    // ---- delegation ----

    /// @dev Runs the call on `module` with this contract's storage and returns or reverts with
    /// what it did, as OpenZeppelin's `Proxy._delegate` does: the calldata is copied once. It
    /// never returns to Solidity, so it may write memory from zero.
    function _delegate(address module) private {
        assembly {
            calldatacopy(0, 0, calldatasize())
            let succeeded := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch succeeded
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }

    // ---- ask internals ----

    /// @dev Checks and stores one ask as `item`; returns its capacity.
    function _postAsk(uint32 roundId, uint16 item, Ask calldata ask, uint256 index, uint256 latestFinal)
        private
        returns (uint256)
    {
        if (ask.capacity == 0) revert ZeroCapacity(index);
        if (ask.item.tier >= TIERS) revert UnknownCode("tier", ask.item.tier);
        if (ask.item.kind >= KINDS) revert UnknownCode("kind", ask.item.kind);
        uint64 deliveryEnd = ask.item.slotStartTimestamp + ask.item.slotSeconds;
        if (deliveryEnd <= latestFinal) revert SlotEndsBeforeFinal(index, deliveryEnd, latestFinal);
        _asks[roundId][item] =
            AskState(msg.sender, ask.capacity, ask.reservePriceMicroUsd, ask.item.tier, ask.item.kind, deliveryEnd);
        emit AskPosted(roundId, item, msg.sender, ask);
        return ask.capacity;
    }

    // ---- commit and reveal internals ----

    function _checkCommitment(BidLib.Terms calldata terms, bytes32 digest) private view {
        Round storage round = _requirePhase(terms.roundId, Phase.Commit);
        if (msg.sender != terms.bidder) revert NotBidder(msg.sender, terms.bidder);
        // The round clears as of its reveal deadline: a bid void by then could not be filled.
        uint256 clearingTimestamp = round.deadlines.revealTimestamp;
        if (terms.expiryTimestamp < clearingTimestamp) revert BidExpired(terms.expiryTimestamp, clearingTimestamp);
        if (terms.maxValueMicroUsd == 0) revert ZeroAmount();
        if (terms.maxValueMicroUsd > type(uint48).max) {
            revert DepositAboveMax(terms.maxValueMicroUsd, type(uint48).max);
        }
        // A bid outside the bands would lock a stake its risk does not justify, or none.
        if (terms.riskBps < round.minRiskBps || terms.riskBps > BPS) {
            revert RiskOutsideBands(terms.riskBps, round.minRiskBps, BPS);
        }
        if (terms.equityClass >= round.equityClassCount) revert UnknownCode("equityClass", terms.equityClass);
        // δ is a probability; the ledger caps it only for bids on a dataset.
        if (terms.deltaAtto >= DELTA_ONE_ATTO) revert DeltaNotBelowOne(terms.deltaAtto);
        if (_stateOf(digest).status != Status.None) revert BidExists(digest);
    }

    function _recordCommitment(BidLib.Terms calldata terms, bytes32 digest, uint256 stakeWei) private {
        _setState(digest, BidState({
            roundId: terms.roundId,
            status: Status.Committed,
            flags: 0,
            bundleIndex: 0,
            riskBps: terms.riskBps,
            providerItem: 0,
            epsilonMicros: terms.epsilonMicros,
            stakeMilliCst: _stakeMilliCst(stakeWei),
            depositMicroUsd: uint48(terms.maxValueMicroUsd),
            paymentMicroUsd: 0
        }));
    }

    /// @dev A commitment still unrevealed, by its terms and envelope hash.
    function _commitment(BidLib.Terms calldata terms, bytes32 envelopeHash)
        private
        view
        returns (bytes32 digest, BidState memory state)
    {
        digest = _hashTypedDataV4(BidLib.hash(terms, envelopeHash));
        state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Committed);
    }

    /// @dev Takes what it can of `amountMicroUsd` from `account`'s credit; returns the
    /// shortfall, for the caller to pull from the account's allowance.
    function _takeCredit(address account, uint256 amountMicroUsd) private returns (uint256 shortfallMicroUsd) {
        uint256 creditMicroUsd = _credits[account];
        if (creditMicroUsd >= amountMicroUsd) {
            _credits[account] = creditMicroUsd - amountMicroUsd;
            return 0;
        }
        if (creditMicroUsd != 0) delete _credits[account];
        return amountMicroUsd - creditMicroUsd;
    }

    /// @dev Every bundle one the auctioneer can read: items of the round in strictly ascending
    /// order (so none twice), each with units, worth at most the deposit (so no payment can
    /// exceed what was escrowed); returns the bundles' EIP-712 hash.
    function _checkBundles(BidLib.Data calldata bid, uint32 roundId, uint256 itemCount)
        private
        pure
        returns (bytes32)
    {
        BidLib.Bundle[] calldata bundles = bid.envelope.bundles;
        // A fill names its bundle by a uint8 index.
        if (bundles.length == 0 || bundles.length > 256) revert MalformedEnvelope(bundles.length);
        bytes32[] memory hashes = new bytes32[](bundles.length);
        for (uint256 i = 0; i < bundles.length; ++i) {
            BidLib.Bundle calldata bundle = bundles[i];
            uint16[] calldata items = bundle.items;
            if (items.length == 0 || items.length != bundle.quantities.length) revert MalformedBundle(i);
            for (uint256 j = 0; j < items.length; ++j) {
                if ((j != 0 && items[j] <= items[j - 1]) || bundle.quantities[j] == 0) revert MalformedBundle(i);
            }
            uint256 last = items[items.length - 1];
            if (last >= itemCount) revert UnknownItem(roundId, last);
            if (bundle.valueMicroUsd > bid.terms.maxValueMicroUsd) {
                revert BundleAboveMaxValue(i, bundle.valueMicroUsd, bid.terms.maxValueMicroUsd);
            }
            hashes[i] = BidLib.hashBundle(bundle);
        }
        return BidLib.hashBundles(hashes);
    }

    /// @dev Contract bidders sign by ERC-1271; others by ECDSA, which refuses high-s (malleable)
    /// signatures.
    function _checkSignature(address bidder, bytes32 digest, bytes calldata signature) private view {
        if (bidder.code.length != 0) {
            if (!SignatureChecker.isValidERC1271SignatureNow(bidder, digest, signature)) {
                revert InvalidSignature(digest, address(0));
            }
            return;
        }
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature);
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert MalleableSignature(digest);
        if (recovered != bidder) revert InvalidSignature(digest, recovered);
    }
}
