// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BidLib} from "../libraries/BidLib.sol";
import {IClearingHouseTypes} from "./IClearingHouseTypes.sol";
import {IPolicyOracle} from "./IPolicyOracle.sol";
import {IVerdictConsumer} from "./IVerdictConsumer.sol";

/// @title Sealed-bid rounds whose every rule the chain re-checks before anything moves
/// @notice A round pins the rules of the regulator's current policy (`IPolicyRegistry`) when
/// it opens, bond and slash rates included, so nothing about a round changes mid-round.
/// A round's life, each phase ending at a deadline:
/// Commit — providers post asks (an item each: capacity and reserve price), committing a bond
/// per unit offered; bidders commit to EIP-712 bids whose terms the policy allows (risk inside
/// its bands, ε within its purpose's limit, a known equity class, no expiry before the round
/// clears): the same transaction escrows the bid's maximum value, locks its CST stake and
/// reserves its ε, in one record keyed by the digest; a bidder may cancel until the phase ends.
/// Reveal — anyone holding a signed bid reveals it; every bundle must be well-formed and name
/// items of the round. Post — the bonded auctioneer posts the allocation in batches, with the
/// solver's claimed status and bound; every fill is checked against its revealed bid and the
/// round's policy: one provider per bundle, a tier the bid's risk band may use, capacity, the
/// risk caps and the equity reservation. Challenge — anyone may build a better allocation in
/// batches and seal it; a sealed challenge that beats the standing result by the policy's step
/// replaces it and reopens the window for an answer, up to a hard final deadline. Price — the
/// policy-oracle quorum signs the Ethical Pricing Function's item prices and payments for the
/// final allocation, recomputed from the chain; unpriced by the deadline, every winner pays its
/// bundle's reserve cost. Final — anyone issues the futures batch by batch, then releases the
/// losers and closes the round (bonds released). Money owed on a bid stays in its record until
/// its bidder withdraws it; money owed to an account is credited to it.
interface IClearingHouse is IClearingHouseTypes, IVerdictConsumer {
    // ---- policy and rounds ----

    /// @notice Opens a round under the current policy. AUCTIONEER_ROLE.
    function openRound(Deadlines calldata deadlines) external returns (uint32 roundId);

    /// @notice Posts the caller's asks, one item each, numbered in order from the returned
    /// index, and locks `capacity × providerBondPerUnitWei` of the caller's bond for each until
    /// the round closes. Commit phase.
    function postAsks(uint32 roundId, Ask[] calldata asks) external returns (uint16 firstItem);

    // ---- bids ----

    /// @notice Pays `amountMicroUsd` of the payment token into the caller's credit (`creditOf`),
    /// from which commits take their deposits; `withdraw` pays it back out.
    function deposit(uint256 amountMicroUsd) external;

    /// @notice Commits to a bid by its terms and its envelope's struct hash. Commit phase; the
    /// caller is the bidder and pays: the same call escrows `maxValueMicroUsd` — from the
    /// bidder's credit as far as it goes, the rest pulled from its payment-token allowance —
    /// locks `SafetyVault.requiredStake(bidder, riskBps, maxValueMicroUsd)` rounded up to a
    /// whole 10^15 wei, and reserves `epsilonMicros` of the dataset's budget.
    /// @return digest the bid's EIP-712 digest, the key of its record
    function commit(BidLib.Terms calldata terms, bytes32 envelopeHash) external returns (bytes32 digest);

    /// @notice Withdraws a commitment. Commit phase; the bidder only. Its stake and ε are
    /// released at once and its whole deposit is credited to the bidder.
    function cancel(BidLib.Terms calldata terms, bytes32 envelopeHash) external;

    /// @notice Reveals a committed bid, signed by its bidder. Reveal phase; anyone may call.
    function reveal(BidLib.Data calldata bid, bytes calldata signature) external;

    /// @notice Releases a commitment left unrevealed after the reveal phase, less what the
    /// policy makes it forfeit to the treasury (a fee plus a share of its deposit). Anyone.
    function forfeit(BidLib.Terms calldata terms, bytes32 envelopeHash) external;

    // ---- results ----

    /// @notice Posts a batch of the round's allocation (version 1) with the solver's claim.
    /// Post phase; AUCTIONEER_ROLE; the first batch locks the policy's auctioneer bond, later
    /// batches come from the same poster.
    function post(uint32 roundId, Fill[] calldata fills, SolverClaim calldata claim) external;

    /// @notice Builds a challenge: `version` 0 starts a new one (its number is returned), any
    /// other adds to the caller's unsealed challenge. Sealing compares it with the standing
    /// result: it must beat it by the policy's `minImprovementBps` (and by at least 1 micro-
    /// USD). It then stands, locks the challenger's bond and extends the window for an answer;
    /// the replaced poster's bond is slashed (burned) if this beats its claimed bound, or — if it
    /// was a challenger's — paid to the caller. Challenge phase; anyone.
    function challenge(uint32 roundId, uint32 version, Fill[] calldata fills, bool seal)
        external
        returns (uint32);

    /// @notice Prices the standing result with the quorum's signed report: one price per item
    /// and one payment per fill, in the result's order. Price phase; anyone.
    function price(
        uint32 roundId,
        uint64[] calldata itemPricesMicroUsd,
        uint64[] calldata paymentsMicroUsd,
        IPolicyOracle.Signature[] calldata signatures
    ) external;

    /// @notice Issues one batch of the standing result: each winner's record becomes its
    /// future, paying its priced payment (held between its bundle's reserve cost and value) or,
    /// if the round was not priced, its reserve cost. `payments` are that batch's slice of the
    /// priced payments (empty when unpriced). Final phase; anyone; each batch once.
    function finalise(uint32 roundId, uint256 batch, Award[] calldata awards, uint64[] calldata payments)
        external;

    /// @notice Releases losers — revealed bids of the round no future was issued for — once
    /// every batch is issued: their deposits become refundable, their stakes and ε are freed.
    /// Final phase; anyone.
    function release(uint32 roundId, bytes32[] calldata losers) external;

    /// @notice Releases the bonds the round held: its standing poster's, and of each provider's
    /// what is not committed to its futures. Final phase, once every batch is issued; anyone;
    /// once.
    function close(uint32 roundId) external;

    // ---- money and delivery ----

    /// @notice Pays out the caller's internal balance and what the caller's listed bids owe it;
    /// a listed bid that owes nothing (in play, already refunded, cancelled) is skipped.
    function withdraw(bytes32[] calldata bids) external;

    /// @notice Mints the caller's won futures as ERC-1155 tokens to the caller (receiver hook
    /// included), so they can move before delivery.
    function claim(bytes32[] calldata futureIds) external;

    /// @notice Mints `bidder`'s won futures straight to `to` (receiver hook included), as
    /// `claim` would mint them to `bidder`: for a market that sells a future its winner never
    /// claimed, in one transaction. The caller must be approved for all of `bidder`'s futures
    /// on `ComputeFutures`.
    function claimFor(address bidder, bytes32[] calldata futureIds, address to) external;

    /// @notice Redeems a future into a policy-oracle job: a claimed one by its token's holder
    /// (burning it), an unclaimed one by its winner; once its round is closed and before its
    /// delivery ends. When the redeemer is not the bidder, the redeemer's stake replaces the
    /// bidder's: who runs the job backs it. `declarationHash` commits to the workload the
    /// redeemer will run (`risk.declaration_hash`); the future's `riskBps` is its ceiling: the
    /// stake stays at it, and the oracle holds what ran to it (the chain cannot run the rubric,
    /// so clients refuse a declaration scored above it before sending).
    function redeem(uint256 futureId, bytes32 declarationHash) external;

    /// @notice Anyone expires futures left unredeemed when their delivery ended: each provider
    /// is paid for the capacity it held, the bidder's stake is released and the ε reservation
    /// returns to the future's holder (its token, if claimed, is burned from `holder`).
    function expire(Expiry[] calldata expiries) external;

    /// @notice Anyone times out redeemed jobs with no verdict by their deadline (the end of
    /// delivery plus the policy's verdict window): the payment goes to the treasury, the
    /// redeemer's stake and the provider's slash are burned, the ε is spent and both audits
    /// fail — silence is each party's worst verdict, so neither gains by causing it.
    function timeOut(bytes32[] calldata jobIds) external;

    // ---- views ----

    function phaseOf(uint32 roundId) external view returns (Phase);
    function roundOf(uint32 roundId) external view returns (Round memory);
    function resultOf(uint32 roundId, uint32 version) external view returns (Result memory);
    function batchOf(uint32 roundId, uint32 version, uint256 batch) external view returns (Batch memory);
    function askOf(uint32 roundId, uint16 item) external view returns (AskState memory);

    /// @notice Units of an item a result allocates: in all, and to bids outside the equity
    /// classes.
    function allocationOf(uint32 roundId, uint32 version, uint16 item)
        external
        view
        returns (uint32 allocated, uint32 unreserved);

    function bidOf(bytes32 digest) external view returns (BidRecord memory);
    function redeemerOf(bytes32 futureId) external view returns (address);

    /// @notice What a market needs to know of a future in one call: its record's status,
    /// whether its token was minted, when its delivery ends (the end of its provider item's
    /// slot, after which it can no longer be redeemed) and which of its bid's bundles won (what
    /// a buy order by criteria checks a proven bundle against).
    function futureOf(bytes32 futureId)
        external
        view
        returns (Status status, bool claimed, uint256 deliveryEndTimestamp, uint8 bundleIndex);
    function providerBondOf(uint32 roundId, address provider) external view returns (ProviderBond memory);
    function creditOf(address account) external view returns (uint256);
    function roundCount() external view returns (uint32);

    /// @notice What a bid's bidder may withdraw from its record now.
    function refundOf(bytes32 digest) external view returns (uint256);

    /// @notice The EIP-712 digest of the bid with these terms and envelope hash.
    function bidDigest(BidLib.Terms calldata terms, bytes32 envelopeHash) external view returns (bytes32);
}
