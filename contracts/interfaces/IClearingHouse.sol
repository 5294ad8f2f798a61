// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BidLib} from "../libraries/BidLib.sol";
import {IVerdictConsumer} from "./IVerdictConsumer.sol";

/// @title Sealed-bid rounds whose auction results are re-checked on-chain before anything moves
/// @notice A round's life, each phase ending at a deadline:
/// Commit — providers post asks (an item each: capacity and reserve price) backed by a
/// reputation bond; bidders commit to EIP-712 bids: the same transaction escrows the bid's
/// maximum value (from the bidder's prepaid credit first, pulling only the shortfall), locks
/// its CST stake and reserves its ε, in one record keyed by the digest; until the phase ends a
/// bidder may cancel a commitment, which releases its stake and ε and credits its deposit back.
/// Reveal — anyone holding a signed bid reveals it; the `Revealed` event carries the whole bid,
/// so anyone can recompute the auction. Post — the bonded auctioneer posts the result, in one
/// or more batches; every fill is checked against its bid's record and the asks. Challenge —
/// anyone may replace the result with a feasible one of higher welfare (Σ bundle values −
/// Σ reserve costs), which burns part of the replaced poster's bond; challenges open only once
/// posting has closed, so no batched result is challenged half-posted. Final — anyone
/// finalises: each winner is credited its future (claimable: the ERC-1155 token is minted when
/// its winner claims it, so no receiver hook runs during finalisation); losers' deposits,
/// stakes and ε are released. Money owed on a bid (a loser's deposit, a winner's change, a
/// forfeit's remainder) stays in its record until its bidder withdraws it; money owed to an
/// account (provider proceeds, fees, refunds after a provider's fault) is credited to it.
/// A future's holder (its winner, until claimed) redeems it into a policy-oracle job; the
/// verdict pays the provider, or slashes the buyer's stake or the provider's bond and refunds
/// the buyer.
interface IClearingHouse is IVerdictConsumer {
    enum Phase {
        None,
        Commit,
        Reveal,
        Post,
        Challenge,
        Final
    }

    enum Status {
        None,
        Committed,
        Revealed,
        Filled,
        Forfeited,
        Released,
        Future,
        Redeemed,
        Settled,
        Voided,
        Cancelled
    }

    struct Deadlines {
        uint64 commitTimestamp;
        uint64 revealTimestamp;
        uint64 postTimestamp;
        uint64 challengeTimestamp;
    }

    struct Round {
        Deadlines deadlines;
        address poster;
        uint32 fillCount;
        uint32 issuedCount;
        uint16 itemCount;
        uint8 resultVersion;
        uint128 welfareMicroUsd;
        uint64 forfeitFeeMicroUsd;
    }

    /// @notice What is sold: posted once per round with its ask, so futures carry it.
    struct Item {
        bytes32 resource;
        bytes32 region;
        bytes32 unit;
        uint64 slotStartTimestamp;
        uint32 slotSeconds;
        uint8 tier;
    }

    struct Ask {
        Item item;
        uint32 capacity;
        uint64 reservePriceMicroUsd;
    }

    /// @dev One ask's state: `allocated` counts for the result version `allocatedVersion` only,
    /// so replacing a result resets every ask at once.
    struct AskState {
        address provider;
        uint32 capacity;
        uint32 allocated;
        uint8 allocatedVersion;
        uint64 reservePriceMicroUsd;
    }

    /// @dev The record's first slot, rewritten at each step of the bid's life. The bid's CST
    /// stake lives here, not in the vault (which keeps only each account's locked total):
    /// `stakeMilliCst` is the stake in units of 10^15 wei, rounded up when it was locked, held
    /// from commit through redemption and released or burned at the end (the record keeps the
    /// amount); money fits 48 bits (a deposit of at most 2^48 − 1 micro-USD, ~281M USD, is
    /// checked at commit).
    struct BidState {
        uint32 roundId;
        Status status;
        uint8 resultVersion;
        uint8 flags;
        uint8 bundleIndex;
        uint16 riskBps;
        uint16 providerItem;
        uint32 epsilonMicros;
        uint32 stakeMilliCst;
        uint48 depositMicroUsd;
        uint48 paymentMicroUsd;
    }

    /// @notice One record per bid, keyed by its digest: its state (one slot, written at commit;
    /// the stake's holder is the bidder, or the redeemer once redeemed), then its bidder, dataset
    /// and bundles' hash (two slots, written at reveal).
    struct BidRecord {
        BidState state;
        address bidder;
        uint96 datasetId;
        bytes32 bundlesHash;
    }

    /// @notice One filled bundle of a posted result. The bundle's content comes as calldata and
    /// is checked against the revealed bid: its struct hash, with the hashes of the bid's other
    /// bundles in order, must rebuild the bundles' hash stored at reveal.
    struct Fill {
        bytes32 bidDigest;
        uint8 bundleIndex;
        uint64 paymentMicroUsd;
        BidLib.Bundle bundle;
        bytes32[] otherBundleHashes;
    }

    struct Parameters {
        uint96 providerMinBondWei;
        uint96 auctioneerMinBondWei;
        uint96 auctioneerSlashWei;
        uint96 providerSlashWei;
    }

    error InvalidDeadlines();
    error ZeroAmount();
    error DepositAboveMax(uint256 depositMicroUsd, uint256 maxMicroUsd);
    error StakeAboveMax(uint256 stakeWei, uint256 maxWei);
    error WrongPhase(uint32 roundId, Phase expected, Phase actual);
    error TooManyItems(uint32 roundId, uint256 count, uint256 max);
    error InsufficientBond(address account, uint256 needed, uint256 bonded);
    error NotBidder(address caller, address bidder);
    error BidExpired(uint256 expiryTimestamp, uint256 nowTimestamp);
    error BidExists(bytes32 digest);
    error UnexpectedStatus(bytes32 digest, Status expected, Status actual);
    error MalleableSignature(bytes32 digest);
    error InvalidSignature(bytes32 digest, address recovered);
    error MalformedBundle(uint256 index);
    error BundleAboveMaxValue(uint256 index, uint256 valueMicroUsd, uint256 maxValueMicroUsd);
    error BidFromOtherRound(bytes32 digest, uint32 bidRoundId);
    error BundleMismatch(bytes32 digest, uint8 bundleIndex);
    error UnknownItem(uint32 roundId, uint16 item);
    error MixedProviders(bytes32 digest, address provider, address other);
    error PaymentAboveValue(bytes32 digest, uint256 paymentMicroUsd, uint256 valueMicroUsd);
    error PaymentBelowReserve(bytes32 digest, uint256 paymentMicroUsd, uint256 reserveMicroUsd);
    error OverAllocated(uint32 roundId, uint16 item, uint256 allocated, uint256 capacity);
    error NotPoster(address caller, address poster);
    error WelfareNotHigher(uint32 roundId, uint256 offeredMicroUsd, uint256 currentMicroUsd);
    error NotAWinner(bytes32 digest);
    error AlreadyClaimed(bytes32 futureId);
    error NothingToWithdraw(address account);
    error NotPolicyOracle(address caller);
    error UnknownJob(bytes32 jobId);

    event RoundOpened(uint32 indexed roundId, Deadlines deadlines, uint256 forfeitFeeMicroUsd);
    event AskPosted(uint32 indexed roundId, uint16 indexed item, address indexed provider, Ask ask);
    /// @dev The deposit came out of the bidder's credit as far as it went (the credit falls by
    /// the lesser of the two), the rest pulled from its allowance; `stakeWei` is what was locked.
    event Committed(
        bytes32 indexed digest, uint32 indexed roundId, address indexed bidder, uint256 depositMicroUsd, uint256 stakeWei
    );
    event Deposited(address indexed account, uint256 amountMicroUsd);
    /// @dev The bid's whole deposit went to its bidder's credit.
    event Cancelled(bytes32 indexed digest, uint32 indexed roundId);
    event Revealed(bytes32 indexed digest, uint32 indexed roundId, BidLib.Data bid);
    event Forfeited(bytes32 indexed digest, uint32 indexed roundId, uint256 feeMicroUsd);
    event Filled(
        bytes32 indexed digest, uint32 indexed roundId, uint8 resultVersion, uint8 bundleIndex, uint256 paymentMicroUsd
    );
    event ResultPosted(uint32 indexed roundId, address indexed poster, uint256 fills, uint256 welfareMicroUsd);
    event ResultReplaced(
        uint32 indexed roundId,
        address indexed challenger,
        address indexed replaced,
        uint8 resultVersion,
        uint256 welfareMicroUsd,
        uint256 slashedWei
    );
    event Released(bytes32 indexed digest, uint32 indexed roundId);
    event Issued(bytes32 indexed futureId);
    event Finalised(uint32 indexed roundId, uint256 issued, uint256 released, bool complete);
    event Withdrawn(address indexed account, uint256 amountMicroUsd, bytes32[] bids);
    event Redeemed(bytes32 indexed futureId, address indexed redeemer, uint256 stakeWei);
    event VerdictEnforced(
        bytes32 indexed jobId,
        bool compliant,
        uint8 fault,
        address indexed paid,
        uint256 paidMicroUsd,
        uint256 burnedWei
    );
    event ParametersSet(Parameters parameters);

    /// @notice Opens a round. AUCTIONEER_ROLE.
    /// @param forfeitFeeMicroUsd what an unrevealed commitment forfeits (capped at its deposit)
    function openRound(Deadlines calldata deadlines, uint64 forfeitFeeMicroUsd) external returns (uint32 roundId);

    /// @notice Posts the caller's asks, one item each, numbered in order from the returned
    /// index. Commit phase; the caller needs a reputation bond of `providerMinBondWei`.
    function postAsks(uint32 roundId, Ask[] calldata asks) external returns (uint16 firstItem);

    /// @notice Pays `amountMicroUsd` of the payment token into the caller's credit (`creditOf`),
    /// from which commits take their deposits; `withdraw` pays it back out.
    function deposit(uint256 amountMicroUsd) external;

    /// @notice Commits to a bid by its terms and its envelope's struct hash. Commit phase; the
    /// caller is the bidder and pays: the same call escrows `maxValueMicroUsd` (at most 2^48 − 1)
    /// — from the bidder's credit as far as it goes, the rest pulled from its payment-token
    /// allowance — locks `SafetyVault.requiredStake(bidder, riskBps, maxValueMicroUsd)` rounded
    /// up to a whole 10^15 wei, and reserves `epsilonMicros` of the dataset's budget.
    /// @return digest the bid's EIP-712 digest, the key of its record
    function commit(BidLib.Terms calldata terms, bytes32 envelopeHash) external returns (bytes32 digest);

    /// @notice Withdraws a commitment. Commit phase; the bidder only. Its stake and ε are
    /// released at once and its whole deposit is credited to the bidder (`creditOf`: spent by
    /// the next commit or paid out by `withdraw`); the record ends `Cancelled`, so the bid can
    /// be neither revealed nor filled.
    function cancel(BidLib.Terms calldata terms, bytes32 envelopeHash) external;

    /// @notice Reveals a committed bid, signed by its bidder. Reveal phase; anyone may call.
    function reveal(BidLib.Data calldata bid, bytes calldata signature) external;

    /// @notice Releases an unrevealed commitment after the reveal phase, less the round's
    /// forfeit fee (to the treasury). Anyone may call.
    function forfeit(BidLib.Terms calldata terms, bytes32 envelopeHash) external;

    /// @notice Posts (a batch of) the round's result. Post phase; AUCTIONEER_ROLE with a bond
    /// of `auctioneerMinBondWei`; later batches from the same poster only.
    function post(uint32 roundId, Fill[] calldata fills) external;

    /// @notice Replaces the posted result with a complete one of higher welfare, burning up to
    /// `auctioneerSlashWei` of the replaced poster's bond. Challenge phase; anyone may call.
    function challenge(uint32 roundId, Fill[] calldata fills) external;

    /// @notice Credits the winners their futures and releases the losers (revealed bids no
    /// result filled). Final phase; anyone may call, in as many batches as needed.
    function finalise(uint32 roundId, bytes32[] calldata winners, bytes32[] calldata losers) external;

    /// @notice Pays out the caller's internal balance and what the caller's listed bids owe it;
    /// a listed bid that owes nothing (in play, already refunded, cancelled) is skipped.
    function withdraw(bytes32[] calldata bids) external;

    /// @notice Mints the caller's won futures as ERC-1155 tokens to the caller (receiver hook
    /// included), so they can move before delivery.
    function claim(bytes32[] calldata futureIds) external;

    /// @notice Redeems a future into a policy-oracle job: a claimed one by its token's holder
    /// (burning it), an unclaimed one by its winner. When the redeemer is not the bidder, the
    /// redeemer's stake replaces the bidder's: who runs the job backs it.
    function redeem(uint256 futureId) external;

    /// @notice Sets bonds and penalties. REGULATOR_ROLE.
    function setParameters(Parameters calldata parameters) external;

    function phaseOf(uint32 roundId) external view returns (Phase);
    function roundOf(uint32 roundId) external view returns (Round memory);
    function askOf(uint32 roundId, uint16 item) external view returns (AskState memory);
    function bidOf(bytes32 digest) external view returns (BidRecord memory);
    function redeemerOf(bytes32 futureId) external view returns (address);
    function creditOf(address account) external view returns (uint256);
    function roundCount() external view returns (uint32);
    function parameters() external view returns (Parameters memory);

    /// @notice What a bid's bidder may withdraw from its record now.
    function refundOf(bytes32 digest) external view returns (uint256);

    /// @notice The EIP-712 digest of the bid with these terms and envelope hash.
    function bidDigest(BidLib.Terms calldata terms, bytes32 envelopeHash) external view returns (bytes32);
}
