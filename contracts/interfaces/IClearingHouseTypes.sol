// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BidLib} from "../libraries/BidLib.sol";

/// @title The clearing house's types, errors and events, shared by its entry points and its
/// delivery module; `IClearingHouse` adds the functions and describes the protocol
interface IClearingHouseTypes {
    enum Phase {
        None,
        Commit,
        Reveal,
        Post,
        Challenge,
        Price,
        Final
    }

    /// @dev From Forfeited on, a record's deposit is settled: what it did not pay is refundable.
    enum Status {
        None,
        Committed,
        Revealed,
        Forfeited,
        Released,
        Future,
        Redeemed,
        Settled,
        Voided,
        Cancelled,
        Expired,
        TimedOut
    }

    // ---- rounds, asks, results ----

    struct Deadlines {
        uint64 commitTimestamp;
        uint64 revealTimestamp;
        uint64 postTimestamp;
        uint64 challengeTimestamp;
    }

    /// @notice `challengeEndTimestamp` starts at the challenge deadline; each successful
    /// challenge moves it to one answer window later, never past the challenge deadline plus
    /// the policy's `maxExtensionSeconds`. Version 1 is the auctioneer's post; challenges are
    /// numbered from 2. `minRiskBps` and `equityClassCount` are the policy's, kept here for
    /// the commit phase.
    struct Round {
        Deadlines deadlines;
        uint32 policyId;
        uint16 itemCount;
        uint16 minRiskBps;
        uint8 equityClassCount;
        uint32 standingVersion;
        uint32 versionCount;
        uint64 challengeEndTimestamp;
        uint32 issuedCount;
        bool priced;
        bool closed;
    }

    /// @notice What is sold: posted once per round with its ask, so futures carry it. Kind
    /// codes: 0 GPU, 1 power, 2 storage.
    struct Item {
        uint8 kind;
        bytes32 region;
        bytes32 unit;
        uint64 slotStartTimestamp;
        uint32 slotSeconds;
        uint8 tier;
    }

    /// @dev `enclaveDigest`: keccak256 of the SHA-384 launch digest of the enclave the
    /// provider runs this item's jobs in, which the oracle holds its futures' evidence to; zero
    /// for any enclave the oracle's operator policy allows. Only in calldata and `AskPosted`:
    /// the chain never reads it.
    struct Ask {
        Item item;
        uint32 capacity;
        uint48 reservePriceMicroUsd;
        bytes32 enclaveDigest;
    }

    /// @notice An item as the round keeps it; its delivery ends at the end of its slot.
    struct AskState {
        address provider;
        uint32 capacity;
        uint48 reservePriceMicroUsd;
        uint8 tier;
        uint8 kind;
        uint64 deliveryEndTimestamp;
    }

    /// @notice A provider's bond in one round: until the round closes, what its asks locked;
    /// from then on, what stays committed to its `openFutures` (the policy's provider slash for
    /// each), released when the last of them is settled, voided, expired or timed out.
    struct ProviderBond {
        uint128 lockedWei;
        uint32 openFutures;
    }

    /// @notice A future to expire, with the account that holds its token (the bidder's, for a
    /// future never claimed).
    struct Expiry {
        bytes32 futureId;
        address holder;
    }

    /// @notice A result: the auctioneer's post or a challenge. Its fills are checked as they
    /// come and kept as one hash per batch; `riskLoads` are the tiers' loads, then the total.
    /// A claim of `SOLVER_OPTIMAL` makes the bound the welfare.
    struct Result {
        address poster;
        uint32 fillCount;
        uint16 batchCount;
        uint8 solverStatus;
        bool isSealed;
        uint128 welfareMicroUsd;
        uint128 boundMicroUsd;
        bytes32 lastDigest;
        uint64[4] riskLoads;
    }

    /// @notice What the auctioneer claims of its solve: status 1 optimal, 2 feasible (the time
    /// limit stopped the proof), and the best bound on welfare it proved.
    struct SolverClaim {
        uint8 status;
        uint128 boundMicroUsd;
    }

    /// @notice One filled bundle. The bid is proven by its terms and sealed envelope: the
    /// bundle's struct hash, with the hashes of the bid's other bundles in order and the salt,
    /// must rebuild the digest of a bid revealed in the round. Within a result, fills come in
    /// strictly ascending digest order, so no bid is filled twice.
    struct Fill {
        BidLib.Terms terms;
        bytes32 salt;
        uint8 bundleIndex;
        BidLib.Bundle bundle;
        bytes32[] otherBundleHashes;
    }

    /// @notice A fill as a batch keeps it, to be issued as a future: its bundle's provider item
    /// (the item whose slot ends last, so the future's delivery ends with it), value and reserve
    /// cost (its units at the asks' reserve prices).
    struct Award {
        bytes32 bidDigest;
        uint8 bundleIndex;
        uint16 providerItem;
        uint64 valueMicroUsd;
        uint64 reserveMicroUsd;
    }

    /// @notice A batch of a result: the hash of its awards (`keccak256(abi.encode(awards))`)
    /// and their number; once the round is priced, the hash of that hash and the batch's
    /// payments (`keccak256(abi.encode(awardsHash, keccak256(abi.encodePacked(payments))))`).
    struct Batch {
        bytes32 hash;
        uint32 fillCount;
    }

    // ---- bids ----

    /// @dev The record's first slot, rewritten at each step of the bid's life. The bid's CST
    /// stake lives here, not in the vault (which keeps only each account's locked total):
    /// `stakeMilliCst` is the stake in units of 10^15 wei, rounded up when it was locked; money
    /// fits 48 bits (a deposit of at most 2^48 − 1 micro-USD, ~281M USD, is checked at commit).
    struct BidState {
        uint32 roundId;
        Status status;
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
    /// the stake's holder is the bidder, or the redeemer once redeemed), then its bidder and
    /// dataset (one slot, written at reveal or forfeit).
    struct BidRecord {
        BidState state;
        address bidder;
        uint96 datasetId;
    }

    // ---- errors ----

    error InvalidDeadlines();
    error ZeroAmount();
    error UnknownCode(bytes32 field, uint256 code);
    error ZeroCapacity(uint256 index);
    error TooManyItems(uint32 roundId, uint256 count, uint256 max);
    error TooManyItemsOfProvider(uint32 roundId, address provider, uint256 count, uint256 max);
    error DepositAboveMax(uint256 depositMicroUsd, uint256 maxMicroUsd);
    error StakeAboveMax(uint256 stakeWei, uint256 maxWei);
    error RiskOutsideBands(uint256 riskBps, uint256 minBps, uint256 maxBps);
    error DeltaNotBelowOne(uint256 deltaAtto);
    error EpsilonAboveLimit(bytes32 purpose, uint256 epsilonMicros, uint256 maxEpsilonMicros);
    error WrongPhase(uint32 roundId, Phase expected, Phase actual);
    error NotBidder(address caller, address bidder);
    error BidExpired(uint256 expiryTimestamp, uint256 clearingTimestamp);
    error BidExists(bytes32 digest);
    error UnexpectedStatus(bytes32 digest, Status expected, Status actual);
    error MalleableSignature(bytes32 digest);
    error InvalidSignature(bytes32 digest, address recovered);
    error MalformedEnvelope(uint256 bundles);
    error MalformedBundle(uint256 index);
    error BundleAboveMaxValue(uint256 index, uint256 valueMicroUsd, uint256 maxValueMicroUsd);
    error UnknownItem(uint32 roundId, uint256 item);
    error NotPoster(address caller, address poster);
    error FillsNotAscending(bytes32 digest, bytes32 previous);
    error BidFromOtherRound(bytes32 digest, uint32 bidRoundId);
    error MixedProviders(bytes32 digest, address provider, address other);
    error TierNotAllowed(bytes32 digest, uint256 item, uint8 tier);
    error BelowReserve(bytes32 digest, uint256 valueMicroUsd, uint256 reserveMicroUsd);
    error OverAllocated(uint32 roundId, uint256 item, uint256 allocated, uint256 capacity);
    error ReservationBreached(uint32 roundId, uint256 item, uint256 unreserved, uint256 open);
    error RiskCapExceeded(uint32 roundId, uint256 tier, uint256 load, uint256 cap);
    error NotAChallenge(uint32 roundId, uint32 version);
    error ResultSealed(uint32 roundId, uint32 version);
    error WelfareNotHigher(uint32 roundId, uint256 offeredMicroUsd, uint256 neededMicroUsd);
    error LengthMismatch(uint256 given, uint256 expected);
    error BatchMismatch(uint32 roundId, uint32 version, uint256 batch);
    error NotAllIssued(uint32 roundId, uint256 issued, uint256 fills);
    error RoundClosed(uint32 roundId);
    error AlreadyClaimed(bytes32 futureId);
    error NotApprovedForAll(address bidder, address operator);
    error NothingToWithdraw(address account);
    error NotPolicyOracle(address caller);
    error UnknownJob(bytes32 jobId);
    error SlotEndsBeforeFinal(uint256 index, uint256 deliveryEndTimestamp, uint256 latestFinalTimestamp);
    error RoundNotClosed(uint32 roundId);
    error DeliveryNotOver(bytes32 futureId, uint256 deliveryEndTimestamp);
    error DeliveryOver(bytes32 futureId, uint256 deliveryEndTimestamp);
    error VerdictNotOverdue(bytes32 jobId, uint256 deadlineTimestamp);

    // ---- events ----

    event RoundOpened(uint32 indexed roundId, uint32 indexed policyId, Deadlines deadlines);
    event AskPosted(uint32 indexed roundId, uint16 indexed item, address indexed provider, Ask ask);
    /// @dev The bid's public terms and its envelope's hash — all `forfeit` needs, so anyone can
    /// forfeit a commitment left sealed, whoever sent it. The deposit (`terms.maxValueMicroUsd`)
    /// came out of the bidder's credit as far as it went (the credit falls by the lesser of the
    /// two), the rest pulled from its allowance; the stake it locked is the vault's
    /// `StakeLocked` of the same transaction (and `bidOf(digest).stakeMilliCst`);
    /// `datasetRemainingMicros` is the dataset's budget left (registered − consumed) when the bid
    /// committed: the privacy premium's basis.
    event Committed(
        bytes32 indexed digest,
        uint32 indexed roundId,
        address indexed bidder,
        BidLib.Terms terms,
        bytes32 envelopeHash,
        uint256 datasetRemainingMicros
    );
    event Deposited(address indexed account, uint256 amountMicroUsd);
    /// @dev The bid's whole deposit went to its bidder's credit.
    event Cancelled(bytes32 indexed digest, uint32 indexed roundId);
    event Revealed(bytes32 indexed digest, uint32 indexed roundId, BidLib.Data bid);
    event Forfeited(bytes32 indexed digest, uint32 indexed roundId, uint256 feeMicroUsd);
    event BatchPosted(
        uint32 indexed roundId,
        uint32 indexed version,
        address indexed poster,
        uint256 batch,
        Award[] awards,
        uint256 welfareMicroUsd
    );
    event SolverClaimed(uint32 indexed roundId, uint8 status, uint256 boundMicroUsd);
    event ResultReplaced(
        uint32 indexed roundId,
        uint32 indexed version,
        address indexed challenger,
        uint32 replacedVersion,
        uint256 welfareMicroUsd,
        uint256 slashedWei,
        uint64 challengeEndTimestamp
    );
    event Priced(uint32 indexed roundId, uint32 indexed version, uint64[] itemPricesMicroUsd, uint64[] paymentsMicroUsd);
    event Issued(bytes32 indexed futureId, uint32 indexed roundId, uint256 paymentMicroUsd);
    event Released(bytes32 indexed digest, uint32 indexed roundId);
    event Closed(uint32 indexed roundId);
    event Withdrawn(address indexed account, uint256 amountMicroUsd, bytes32[] bids);
    /// @dev `declarationHash` commits to the job the redeemer will run: the enclave's evidence
    /// must name it, and what ran is scored against the future's `riskBps` (its ceiling).
    event Redeemed(bytes32 indexed futureId, address indexed redeemer, uint256 stakeWei, bytes32 declarationHash);
    /// @dev At close: the provider's bond kept for its futures, the rest of its asks' bond released.
    event DeliveryBondHeld(uint32 indexed roundId, address indexed provider, uint256 heldWei, uint256 futures);
    /// @dev Unredeemed at the end of its delivery: the provider is paid, the holder gets the ε.
    event Expired(bytes32 indexed futureId, address indexed holder, uint256 paidMicroUsd);
    /// @dev Redeemed, and no verdict by its deadline: the payment goes to the treasury, the
    /// redeemer's stake and the provider's slash are burned.
    event TimedOut(bytes32 indexed jobId, uint256 paymentMicroUsd, uint256 burnedStakeWei, uint256 burnedBondWei);
    event VerdictEnforced(
        bytes32 indexed jobId,
        bool compliant,
        uint8 fault,
        address indexed paid,
        uint256 paidMicroUsd,
        uint256 burnedWei
    );
}
