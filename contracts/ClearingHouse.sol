// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";
import {BidLib} from "./libraries/BidLib.sol";
import {VerdictLib} from "./libraries/VerdictLib.sol";

/// @title Sealed-bid rounds, re-checked auction results, escrow, futures and their verdicts
contract ClearingHouse is IClearingHouse, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant AUCTIONEER_ROLE = keccak256("AUCTIONEER_ROLE");
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    /// @dev A post tallies every item of its round in memory; this bounds that memory.
    uint256 private constant MAX_ITEMS = 512;
    /// @dev BidState.stakeMilliCst's unit: a bid's stake is locked rounded up to a multiple.
    uint256 private constant STAKE_UNIT_WEI = 1e15;
    /// @dev BidState.flags: what the record owed its bidder was withdrawn.
    uint8 private constant REFUNDED = 2;
    /// @dev BidState.flags: the future's ERC-1155 token was minted; its holder redeems it.
    uint8 private constant CLAIMED = 4;

    /// @dev A round's per-item totals while a batch of fills is checked.
    struct ItemTally {
        bool loaded;
        address provider;
        uint64 reservePriceMicroUsd;
        uint256 capacity;
        uint256 allocated;
    }

    ISafetyVault public immutable vault;
    IReputationRegistry public immutable reputation;
    IPolicyOracle public immutable oracle;
    IPrivacyBudgetLedger public immutable ledger;
    IComputeFutures public immutable futures;
    IERC20 public immutable paymentToken;
    /// @dev Receives forfeit fees.
    address public immutable treasury;

    Parameters private _parameters;
    uint32 private _roundCount;
    mapping(uint32 roundId => Round) private _rounds;
    mapping(uint32 roundId => mapping(uint16 item => AskState)) private _asks;
    mapping(bytes32 digest => BidRecord) private _bids;
    mapping(bytes32 futureId => address) private _redeemers;
    mapping(address account => uint256 microUsd) private _credits;

    constructor(
        address governance,
        ISafetyVault vault_,
        IReputationRegistry reputation_,
        IPolicyOracle oracle_,
        IPrivacyBudgetLedger ledger_,
        IComputeFutures futures_,
        IERC20 paymentToken_,
        address treasury_,
        Parameters memory parameters_
    ) EIP712("rcm ClearingHouse", "1") {
        vault = vault_;
        reputation = reputation_;
        oracle = oracle_;
        ledger = ledger_;
        futures = futures_;
        paymentToken = paymentToken_;
        treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
        _setParameters(parameters_);
    }

    // ---- commit phase ----

    function openRound(Deadlines calldata deadlines, uint64 forfeitFeeMicroUsd)
        external
        onlyRole(AUCTIONEER_ROLE)
        returns (uint32 roundId)
    {
        bool ordered = block.timestamp < deadlines.commitTimestamp
            && deadlines.commitTimestamp < deadlines.revealTimestamp
            && deadlines.revealTimestamp < deadlines.postTimestamp
            && deadlines.postTimestamp < deadlines.challengeTimestamp;
        if (!ordered) revert InvalidDeadlines();
        roundId = ++_roundCount;
        Round storage round = _rounds[roundId];
        round.deadlines = deadlines;
        round.resultVersion = 1;
        round.forfeitFeeMicroUsd = forfeitFeeMicroUsd;
        emit RoundOpened(roundId, deadlines, forfeitFeeMicroUsd);
    }

    function postAsks(uint32 roundId, Ask[] calldata asks) external returns (uint16 firstItem) {
        Round storage round = _requirePhase(roundId, Phase.Commit);
        _requireBond(msg.sender, _parameters.providerMinBondWei);
        firstItem = round.itemCount;
        uint256 count = firstItem + asks.length;
        if (count > MAX_ITEMS) revert TooManyItems(roundId, count, MAX_ITEMS);
        round.itemCount = uint16(count);
        for (uint256 i = 0; i < asks.length; ++i) {
            uint16 item = uint16(firstItem + i);
            _asks[roundId][item] = AskState(msg.sender, asks[i].capacity, 0, 0, asks[i].reservePriceMicroUsd);
            emit AskPosted(roundId, item, msg.sender, asks[i]);
        }
    }

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
        emit Committed(digest, terms.roundId, terms.bidder, terms.maxValueMicroUsd, stakeWei);
        ledger.reserve(terms.datasetId, terms.bidder, terms.epsilonMicros, terms.purpose, terms.deltaAtto);
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

    // ---- reveal phase ----

    function reveal(BidLib.Data calldata bid, bytes calldata signature) external {
        BidLib.Terms calldata terms = bid.terms;
        bytes32 bundlesHash = _checkBundles(bid);
        bytes32 digest = _hashTypedDataV4(BidLib.hash(terms, BidLib.hashEnvelope(bundlesHash, bid.envelope.salt)));
        BidState memory state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Committed);
        _requirePhase(terms.roundId, Phase.Reveal);
        _checkSignature(terms.bidder, digest, signature);
        state.status = Status.Revealed;
        _setState(digest, state);
        BidRecord storage record = _bids[digest];
        record.bidder = terms.bidder;
        record.datasetId = terms.datasetId;
        record.bundlesHash = bundlesHash;
        emit Revealed(digest, terms.roundId, bid);
    }

    function forfeit(BidLib.Terms calldata terms, bytes32 envelopeHash) external nonReentrant {
        (bytes32 digest, BidState memory state) = _commitment(terms, envelopeHash);
        Round storage round = _rounds[state.roundId];
        Phase phase = _phase(round.deadlines);
        if (phase < Phase.Post) revert WrongPhase(state.roundId, Phase.Post, phase);
        uint48 feeMicroUsd = round.forfeitFeeMicroUsd < state.depositMicroUsd
            ? uint48(round.forfeitFeeMicroUsd)
            : state.depositMicroUsd;
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

    // ---- post and challenge phases ----

    function post(uint32 roundId, Fill[] calldata fills) external onlyRole(AUCTIONEER_ROLE) nonReentrant {
        Round storage round = _requirePhase(roundId, Phase.Post);
        address poster = round.poster;
        if (poster == address(0)) {
            _requireBond(msg.sender, _parameters.auctioneerMinBondWei);
            round.poster = msg.sender;
        } else if (poster != msg.sender) {
            revert NotPoster(msg.sender, poster);
        }
        uint256 welfareMicroUsd = _applyFills(roundId, round.itemCount, round.resultVersion, fills);
        round.fillCount += uint32(fills.length);
        round.welfareMicroUsd += uint128(welfareMicroUsd);
        emit ResultPosted(roundId, msg.sender, fills.length, round.welfareMicroUsd);
    }

    function challenge(uint32 roundId, Fill[] calldata fills) external nonReentrant {
        Round storage round = _requirePhase(roundId, Phase.Challenge);
        uint8 version = round.resultVersion + 1;
        uint256 welfareMicroUsd = _applyFills(roundId, round.itemCount, version, fills);
        if (welfareMicroUsd <= round.welfareMicroUsd) {
            revert WelfareNotHigher(roundId, welfareMicroUsd, round.welfareMicroUsd);
        }
        address replaced = round.poster;
        round.poster = msg.sender;
        round.resultVersion = version;
        round.fillCount = uint32(fills.length);
        round.welfareMicroUsd = uint128(welfareMicroUsd);
        // Burned, not paid to the challenger: an auctioneer could otherwise recover its own
        // bond by challenging its own bad result from another account.
        uint256 slashedWei = _slashBond(replaced, _parameters.auctioneerSlashWei);
        emit ResultReplaced(roundId, msg.sender, replaced, version, welfareMicroUsd, slashedWei);
    }

    // ---- final phase ----

    function finalise(uint32 roundId, bytes32[] calldata winners, bytes32[] calldata losers)
        external
        nonReentrant
    {
        Round storage round = _requirePhase(roundId, Phase.Final);
        uint8 version = round.resultVersion;
        _issueFutures(roundId, version, winners);
        _releaseLosers(roundId, version, losers);
        uint32 issued = round.issuedCount + uint32(winners.length);
        round.issuedCount = issued;
        emit Finalised(roundId, winners.length, losers.length, issued == round.fillCount);
    }

    function withdraw(bytes32[] calldata bids) external nonReentrant {
        uint256 amountMicroUsd = _credits[msg.sender];
        if (amountMicroUsd != 0) delete _credits[msg.sender];
        for (uint256 i = 0; i < bids.length; ++i) {
            amountMicroUsd += _collectRefund(bids[i]);
        }
        if (amountMicroUsd == 0) revert NothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amountMicroUsd, bids);
        paymentToken.safeTransfer(msg.sender, amountMicroUsd);
    }

    // ---- delivery ----

    function claim(bytes32[] calldata futureIds) external nonReentrant {
        uint256[] memory ids = new uint256[](futureIds.length);
        for (uint256 i = 0; i < futureIds.length; ++i) {
            bytes32 digest = futureIds[i];
            BidState memory state = _stateOf(digest);
            _requireStatus(digest, state.status, Status.Future);
            _requireBidder(digest);
            if (state.flags & CLAIMED != 0) revert AlreadyClaimed(digest);
            state.flags |= CLAIMED;
            _setState(digest, state);
            ids[i] = uint256(digest);
        }
        futures.mint(msg.sender, ids);
    }

    function redeem(uint256 futureId) external nonReentrant {
        bytes32 digest = bytes32(futureId);
        BidState memory state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Future);
        bool claimed = state.flags & CLAIMED != 0;
        if (!claimed) _requireBidder(digest);
        address bidder = _bids[digest].bidder;
        uint256 stakeWei = _stakeWei(state);
        if (msg.sender != bidder) {
            // Who runs the job backs it: the redeemer's stake replaces the bidder's. As in
            // commit, the amount locked is part of the record.
            if (stakeWei != 0) vault.releaseStake(bidder, stakeWei);
            stakeWei = vault.lockStake(msg.sender, state.riskBps, state.depositMicroUsd, STAKE_UNIT_WEI);
            state.stakeMilliCst = _stakeMilliCst(stakeWei);
        }
        state.status = Status.Redeemed;
        _setState(digest, state);
        _redeemers[digest] = msg.sender;
        emit Redeemed(digest, msg.sender, stakeWei);
        if (claimed) futures.burn(msg.sender, futureId);
        oracle.openJob(digest);
    }

    function onVerdict(bytes32 jobId, bool compliant, uint8 fault, bytes32) external nonReentrant {
        if (msg.sender != address(oracle)) revert NotPolicyOracle(msg.sender);
        BidState memory state = _stateOf(jobId);
        if (state.status != Status.Redeemed) revert UnknownJob(jobId);
        address buyer = _redeemers[jobId];
        address provider = _asks[state.roundId][state.providerItem].provider;
        bool providerAtFault = fault == VerdictLib.FAULT_PROVIDER;
        state.status = compliant ? Status.Settled : Status.Voided;
        _setState(jobId, state);
        address paid = providerAtFault ? buyer : provider;
        _credits[paid] += state.paymentMicroUsd;
        uint256 burnedWei = _enforceStake(state, fault, buyer, provider);
        emit VerdictEnforced(jobId, compliant, fault, paid, state.paymentMicroUsd, burnedWei);
        // Spent on every verdict: a verdict judges a job that ran on the data, and privacy
        // lost to a violating job is lost all the same.
        ledger.consume(_bids[jobId].datasetId, state.epsilonMicros);
        reputation.recordAudit(buyer, fault != VerdictLib.FAULT_BUYER);
        reputation.recordAudit(provider, !providerAtFault);
    }

    function setParameters(Parameters calldata parameters_) external onlyRole(REGULATOR_ROLE) {
        _setParameters(parameters_);
    }

    // ---- views ----

    function phaseOf(uint32 roundId) external view returns (Phase) {
        return _phase(_rounds[roundId].deadlines);
    }

    function roundOf(uint32 roundId) external view returns (Round memory) {
        return _rounds[roundId];
    }

    function askOf(uint32 roundId, uint16 item) external view returns (AskState memory) {
        return _asks[roundId][item];
    }

    function bidOf(bytes32 digest) external view returns (BidRecord memory) {
        return _bids[digest];
    }

    function redeemerOf(bytes32 futureId) external view returns (address) {
        return _redeemers[futureId];
    }

    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    function roundCount() external view returns (uint32) {
        return _roundCount;
    }

    function parameters() external view returns (Parameters memory) {
        return _parameters;
    }

    function refundOf(bytes32 digest) external view returns (uint256) {
        return _refundable(_stateOf(digest));
    }

    function bidDigest(BidLib.Terms calldata terms, bytes32 envelopeHash) external view returns (bytes32) {
        return _hashTypedDataV4(BidLib.hash(terms, envelopeHash));
    }

    // ---- commit and reveal internals ----

    function _checkCommitment(BidLib.Terms calldata terms, bytes32 digest) private view {
        _requirePhase(terms.roundId, Phase.Commit);
        if (msg.sender != terms.bidder) revert NotBidder(msg.sender, terms.bidder);
        if (block.timestamp > terms.expiryTimestamp) revert BidExpired(terms.expiryTimestamp, block.timestamp);
        if (terms.maxValueMicroUsd > type(uint48).max) {
            revert DepositAboveMax(terms.maxValueMicroUsd, type(uint48).max);
        }
        if (_stateOf(digest).status != Status.None) revert BidExists(digest);
    }

    function _recordCommitment(BidLib.Terms calldata terms, bytes32 digest, uint256 stakeWei) private {
        _setState(digest, BidState({
            roundId: terms.roundId,
            status: Status.Committed,
            resultVersion: 0,
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

    /// @dev Every bundle well-formed and worth at most the deposit, so no payment can exceed
    /// what was escrowed; returns the bundles' EIP-712 hash.
    function _checkBundles(BidLib.Data calldata bid) private pure returns (bytes32) {
        BidLib.Bundle[] calldata bundles = bid.envelope.bundles;
        bytes32[] memory hashes = new bytes32[](bundles.length);
        for (uint256 i = 0; i < bundles.length; ++i) {
            BidLib.Bundle calldata bundle = bundles[i];
            if (bundle.items.length == 0 || bundle.items.length != bundle.quantities.length) {
                revert MalformedBundle(i);
            }
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

    // ---- result internals ----

    /// @dev Checks and records every fill, tallying allocations per item in memory so each
    /// touched ask is written once per batch; returns the fills' welfare.
    function _applyFills(uint32 roundId, uint256 itemCount, uint8 version, Fill[] calldata fills)
        private
        returns (uint256 welfareMicroUsd)
    {
        ItemTally[] memory tallies = new ItemTally[](itemCount);
        for (uint256 i = 0; i < fills.length; ++i) {
            welfareMicroUsd += _applyFill(roundId, version, fills[i], tallies);
        }
        _writeAllocations(roundId, version, tallies);
    }

    function _applyFill(uint32 roundId, uint8 version, Fill calldata fill, ItemTally[] memory tallies)
        private
        returns (uint256 welfareMicroUsd)
    {
        bytes32 digest = fill.bidDigest;
        BidState memory state = _checkFillable(roundId, version, digest);
        _checkBundle(fill);
        uint256 reserveMicroUsd = _allocate(roundId, version, fill, tallies);
        uint64 valueMicroUsd = fill.bundle.valueMicroUsd;
        uint64 paymentMicroUsd = fill.paymentMicroUsd;
        if (paymentMicroUsd > valueMicroUsd) revert PaymentAboveValue(digest, paymentMicroUsd, valueMicroUsd);
        if (paymentMicroUsd < reserveMicroUsd) revert PaymentBelowReserve(digest, paymentMicroUsd, reserveMicroUsd);
        state.status = Status.Filled;
        state.resultVersion = version;
        state.bundleIndex = fill.bundleIndex;
        state.providerItem = fill.bundle.items[0];
        // Fits: the payment is at most the bundle's value, which reveal held to the bid's max
        // value, which commit held below 2^48.
        state.paymentMicroUsd = uint48(paymentMicroUsd);
        _setState(digest, state);
        emit Filled(digest, roundId, version, fill.bundleIndex, paymentMicroUsd);
        return valueMicroUsd - reserveMicroUsd;
    }

    /// @dev Revealed, or filled only by a result this version replaces.
    function _checkFillable(uint32 roundId, uint8 version, bytes32 digest)
        private
        view
        returns (BidState memory state)
    {
        state = _stateOf(digest);
        bool fillable = state.status == Status.Revealed
            || (state.status == Status.Filled && state.resultVersion != version);
        if (!fillable) revert UnexpectedStatus(digest, Status.Revealed, state.status);
        if (state.roundId != roundId) revert BidFromOtherRound(digest, state.roundId);
    }

    function _checkBundle(Fill calldata fill) private view {
        bytes32[] calldata others = fill.otherBundleHashes;
        uint256 index = fill.bundleIndex;
        if (index > others.length) revert BundleMismatch(fill.bidDigest, fill.bundleIndex);
        bytes32[] memory hashes = new bytes32[](others.length + 1);
        for (uint256 k = 0; k < index; ++k) {
            hashes[k] = others[k];
        }
        hashes[index] = BidLib.hashBundle(fill.bundle);
        for (uint256 k = index; k < others.length; ++k) {
            hashes[k + 1] = others[k];
        }
        if (BidLib.hashBundles(hashes) != _bids[fill.bidDigest].bundlesHash) {
            revert BundleMismatch(fill.bidDigest, fill.bundleIndex);
        }
    }

    /// @dev Adds the bundle's quantities to the tallies; every item must be the same
    /// provider's, since one provider's enclave runs the job and answers for it.
    function _allocate(uint32 roundId, uint8 version, Fill calldata fill, ItemTally[] memory tallies)
        private
        view
        returns (uint256 reserveMicroUsd)
    {
        uint16[] calldata items = fill.bundle.items;
        address provider;
        for (uint256 j = 0; j < items.length; ++j) {
            uint16 item = items[j];
            if (item >= tallies.length) revert UnknownItem(roundId, item);
            ItemTally memory tally = tallies[item];
            if (!tally.loaded) _load(roundId, item, version, tally);
            if (j == 0) provider = tally.provider;
            else if (tally.provider != provider) revert MixedProviders(fill.bidDigest, provider, tally.provider);
            uint256 quantity = fill.bundle.quantities[j];
            tally.allocated += quantity;
            reserveMicroUsd += quantity * tally.reservePriceMicroUsd;
        }
    }

    function _load(uint32 roundId, uint16 item, uint8 version, ItemTally memory tally) private view {
        AskState storage ask = _asks[roundId][item];
        tally.loaded = true;
        tally.provider = ask.provider;
        tally.capacity = ask.capacity;
        tally.allocated = ask.allocatedVersion == version ? ask.allocated : 0;
        tally.reservePriceMicroUsd = ask.reservePriceMicroUsd;
    }

    function _writeAllocations(uint32 roundId, uint8 version, ItemTally[] memory tallies) private {
        for (uint256 i = 0; i < tallies.length; ++i) {
            ItemTally memory tally = tallies[i];
            if (!tally.loaded) continue;
            if (tally.allocated > tally.capacity) {
                revert OverAllocated(roundId, uint16(i), tally.allocated, tally.capacity);
            }
            AskState storage ask = _asks[roundId][uint16(i)];
            ask.allocated = uint32(tally.allocated);
            ask.allocatedVersion = version;
        }
    }

    // ---- final phase internals ----

    /// @dev Credits each winner its position; the token is minted when the winner claims it, so
    /// no winner's receiver hook runs here and none can block the round.
    function _issueFutures(uint32 roundId, uint8 version, bytes32[] calldata winners) private {
        for (uint256 i = 0; i < winners.length; ++i) {
            bytes32 digest = winners[i];
            BidState memory state = _stateOf(digest);
            bool won = state.roundId == roundId && state.status == Status.Filled && state.resultVersion == version;
            if (!won) revert NotAWinner(digest);
            state.status = Status.Future;
            _setState(digest, state);
            emit Issued(digest);
        }
    }

    function _releaseLosers(uint32 roundId, uint8 version, bytes32[] calldata losers) private {
        for (uint256 i = 0; i < losers.length; ++i) {
            bytes32 digest = losers[i];
            BidState memory state = _checkFillable(roundId, version, digest);
            state.status = Status.Released;
            state.paymentMicroUsd = 0;
            _setState(digest, state);
            emit Released(digest, roundId);
            BidRecord storage record = _bids[digest];
            _releaseHolds(state, record.bidder, record.datasetId);
        }
    }

    function _releaseHolds(BidState memory state, address bidder, uint96 datasetId) private {
        uint256 stakeWei = _stakeWei(state);
        if (stakeWei != 0) vault.releaseStake(bidder, stakeWei);
        ledger.release(datasetId, bidder, state.epsilonMicros);
    }

    /// @dev A record that owes nothing (in play, already refunded, or cancelled: its deposit
    /// went to the credit) is skipped, so a bidder may list all of its bids.
    function _collectRefund(bytes32 digest) private returns (uint256 refundMicroUsd) {
        BidState memory state = _stateOf(digest);
        refundMicroUsd = _refundable(state);
        if (refundMicroUsd == 0) return 0;
        _requireBidder(digest);
        state.flags |= REFUNDED;
        _setState(digest, state);
    }

    /// @dev From Forfeited on (the enum's order), a record's part of its deposit is settled:
    /// what it did not pay is its bidder's.
    function _refundable(BidState memory state) private pure returns (uint256) {
        if (state.status < Status.Forfeited || state.flags & REFUNDED != 0) return 0;
        return state.depositMicroUsd - state.paymentMicroUsd;
    }

    // ---- delivery internals ----

    /// @dev The stake is the redeemer's: a buyer's fault burns it, any other verdict frees it.
    function _enforceStake(BidState memory state, uint8 fault, address redeemer, address provider)
        private
        returns (uint256 burnedWei)
    {
        uint256 stakeWei = _stakeWei(state);
        if (fault == VerdictLib.FAULT_BUYER) {
            if (stakeWei != 0) vault.slashStake(redeemer, stakeWei);
            return stakeWei;
        }
        if (stakeWei != 0) vault.releaseStake(redeemer, stakeWei);
        if (fault == VerdictLib.FAULT_PROVIDER) burnedWei = _slashBond(provider, _parameters.providerSlashWei);
    }

    // ---- shared internals ----

    /// @dev Burns up to `amountWei` of `account`'s bond; an account with less loses what it has.
    function _slashBond(address account, uint256 amountWei) private returns (uint256 burnedWei) {
        if (account == address(0)) return 0;
        ISafetyVault.Balance memory balance = vault.balanceOf(account);
        uint256 slashable = uint256(balance.bonded) + balance.unbonding;
        burnedWei = amountWei < slashable ? amountWei : slashable;
        if (burnedWei != 0) vault.slashBond(account, burnedWei);
    }

    function _requireBond(address account, uint256 neededWei) private view {
        uint256 bonded = vault.balanceOf(account).bonded;
        if (bonded < neededWei) revert InsufficientBond(account, neededWei, bonded);
    }

    /// @dev The vault locks whole multiples of STAKE_UNIT_WEI, so the division is exact.
    function _stakeMilliCst(uint256 stakeWei) private pure returns (uint32) {
        uint256 stakeMilliCst = stakeWei / STAKE_UNIT_WEI;
        if (stakeMilliCst > type(uint32).max) revert StakeAboveMax(stakeWei, type(uint32).max * STAKE_UNIT_WEI);
        return uint32(stakeMilliCst);
    }

    function _stakeWei(BidState memory state) private pure returns (uint256) {
        return uint256(state.stakeMilliCst) * STAKE_UNIT_WEI;
    }

    function _stateOf(bytes32 digest) private view returns (BidState memory) {
        return _bids[digest].state;
    }

    function _setState(bytes32 digest, BidState memory state) private {
        _bids[digest].state = state;
    }

    function _requirePhase(uint32 roundId, Phase expected) private view returns (Round storage round) {
        round = _rounds[roundId];
        Phase actual = _phase(round.deadlines);
        if (actual != expected) revert WrongPhase(roundId, expected, actual);
    }

    function _requireBidder(bytes32 digest) private view {
        address bidder = _bids[digest].bidder;
        if (msg.sender != bidder) revert NotBidder(msg.sender, bidder);
    }

    function _requireStatus(bytes32 digest, Status actual, Status expected) private pure {
        if (actual != expected) revert UnexpectedStatus(digest, expected, actual);
    }

    function _phase(Deadlines memory deadlines) private view returns (Phase) {
        if (deadlines.commitTimestamp == 0) return Phase.None;
        if (block.timestamp <= deadlines.commitTimestamp) return Phase.Commit;
        if (block.timestamp <= deadlines.revealTimestamp) return Phase.Reveal;
        if (block.timestamp <= deadlines.postTimestamp) return Phase.Post;
        if (block.timestamp <= deadlines.challengeTimestamp) return Phase.Challenge;
        return Phase.Final;
    }

    function _setParameters(Parameters memory parameters_) private {
        _parameters = parameters_;
        emit ParametersSet(parameters_);
    }
}
