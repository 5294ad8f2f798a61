// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @title Privacy budgets as ERC-1155 tokens: one id per dataset, one unit per micro-ε
/// @notice A data owner registers a dataset with a total ε budget, a per-job δ cap, a total δ
/// budget and the purposes it consents to; the whole ε budget is minted to the owner, who
/// grants it (a transfer) or offers it for sale, as may any later holder (resale). The clearing
/// role reserves budget for a committed bid: the units leave the holder's balance (an ERC-1155
/// burn, operator the clearing house) for the dataset's reserve, a counter kept beside its δ
/// cap so a reservation writes no slot of its own; a release mints them back to the holder (no
/// receiver hook), and a consumption moves them from the reserve to the consumed total
/// (`Consumed`). So for every dataset, at all times: total = Σ holders' balances + reserved +
/// consumed — never negative, never above what was registered. Outside `register`'s first mint,
/// every ERC-1155 burn is a reservation and every mint a release, from which (with `Consumed`)
/// an indexer rebuilds `reservedOf`.
///
/// δ is accounted beside ε, as a total per dataset with consumed and reserved parts, but not
/// as tokens: (ε, δ)-guarantees compose additively across jobs on the same data (basic
/// composition), so the δ the jobs on a dataset may spend must be bounded in sum, not only per
/// job. Every reservation on a dataset is charged the dataset's per-job cap rather than its
/// bid's own δ: the cap bounds that δ (a reservation above it is refused), so the charge is
/// conservative, and it is exact for the release or consumption that ends the reservation
/// with no per-bid record of δ anywhere. A data owner who wants tighter accounting registers a
/// smaller cap. Since every job is charged the same cap, the ledger counts jobs: the δ total is
/// the whole number of caps it holds (`totalDeltaAtto / maxDeltaAtto`, at most 2^24 − 1 jobs),
/// and an ε budget is at most 2^40 − 1 micro-ε (about 1.1 million ε), so that a dataset's
/// counters fit the one storage slot every commit reads and writes. For every dataset: totalDelta ≥ consumedDelta + reservedDelta, and
/// reservedDelta = cap × (reservations open), which an indexer counts from the reservation's
/// burn, the release's mint and `Consumed` (each emitted for a reservation of zero ε too).
interface IPrivacyBudgetLedger is IERC1155 {
    struct Dataset {
        address owner;
        uint64 maxDeltaAtto;
        uint64 totalMicroEpsilon;
        uint64 consumedMicroEpsilon;
        uint64 totalDeltaAtto;
        uint64 consumedDeltaAtto;
    }

    struct Offer {
        uint64 amountMicroEpsilon;
        uint64 priceMicroUsdPerEpsilon;
    }

    error DatasetExists(uint256 id);
    error UnknownDataset(uint256 id);
    error ZeroBudget();
    error ZeroDeltaCap();
    error BudgetTooLarge(uint256 totalMicroEpsilon, uint256 maxMicroEpsilon);
    error TooManyJobs(uint256 jobs, uint256 maxJobs);
    error DeltaBudgetBelowCap(uint256 totalDeltaAtto, uint256 maxDeltaAtto);
    error NotDatasetOwner(uint256 id, address caller);
    error PurposeNotConsented(uint256 id, bytes32 purpose);
    error UnknownCategories(uint256 categories);
    error DeltaAboveCap(uint256 id, uint256 deltaAtto, uint256 maxDeltaAtto);
    error DeltaBudgetExhausted(uint256 id, uint256 neededAtto, uint256 availableAtto);
    error ExceedsOffer(uint256 id, address seller, uint256 amount, uint256 offered);
    error PriceChanged(uint256 id, address seller, uint256 expected, uint256 offered);
    error ExceedsReserved(uint256 id, uint256 amount, uint256 reserved);
    error ExceedsReservedDelta(uint256 id, uint256 neededAtto, uint256 reservedAtto);

    event DatasetRegistered(
        uint256 indexed id,
        address indexed owner,
        bytes32 contentHash,
        uint256 totalMicroEpsilon,
        uint256 maxDeltaAtto,
        uint256 totalDeltaAtto,
        uint8 categories
    );
    event ConsentSet(uint256 indexed id, bytes32 indexed purpose, bool consented);
    event Offered(uint256 indexed id, address indexed seller, uint256 amountMicroEpsilon, uint256 priceMicroUsdPerEpsilon);
    event Bought(
        uint256 indexed id,
        address indexed seller,
        address indexed buyer,
        uint256 amountMicroEpsilon,
        uint256 paidMicroUsd
    );
    event Consumed(uint256 indexed id, uint256 amountMicroEpsilon, uint256 deltaAtto);

    /// @notice Registers the caller's dataset and mints its whole ε budget to the caller.
    /// @param contentHash a hash of the dataset's content; with the owner it fixes the id
    /// @param maxDeltaAtto the δ one job may spend, and what each job is charged of the total
    /// @param totalDeltaAtto the δ all jobs together may spend: at least one job's cap; what
    /// is left over a whole number of caps is never spent (`DatasetRegistered` has the rest)
    /// @param purposes the purpose ids (keccak256 of the purpose's name) the owner consents to
    /// @param categories the sensitive kinds of data it holds, one bit each: health 1, genomic 2,
    /// biometric 4, financial 8; none is public data. Jobs on it must declare them: the risk
    /// rubric scores them.
    /// @return id `datasetIdOf(msg.sender, contentHash)`
    function register(
        bytes32 contentHash,
        uint64 totalMicroEpsilon,
        uint64 maxDeltaAtto,
        uint64 totalDeltaAtto,
        bytes32[] calldata purposes,
        uint8 categories
    ) external returns (uint256 id);

    /// @notice Grants or withdraws consent to a purpose for future reservations. Owner only.
    function setConsent(uint256 id, bytes32 purpose, bool consented) external;

    /// @notice Offers up to `amountMicroEpsilon` of the caller's budget at a fixed price; a new
    /// offer replaces the previous one, an amount of zero withdraws it.
    function offer(uint256 id, uint64 amountMicroEpsilon, uint64 priceMicroUsdPerEpsilon) external;

    /// @notice Buys from `seller`'s offer at the price the buyer saw, paying in the payment token
    /// (rounded up to the micro-USD) straight to the seller.
    function buy(uint256 id, address seller, uint64 amountMicroEpsilon, uint64 priceMicroUsdPerEpsilon)
        external;

    /// @notice Moves `amount` of `account`'s budget into the dataset's reserve for a committed
    /// bid, once the dataset consents to `purpose`, `deltaAtto` is within its cap and the cap
    /// is within the δ budget not yet consumed or reserved; reserves the cap of that budget,
    /// whatever the amount. Dataset id 0 with no ε is a bid on no private data: nothing is
    /// reserved. CLEARING_ROLE.
    /// @return remainingMicroEpsilon the dataset's budget not yet consumed (0 for no dataset)
    function reserve(uint256 id, address account, uint256 amount, bytes32 purpose, uint256 deltaAtto)
        external
        returns (uint256 remainingMicroEpsilon);

    /// @notice Ends a reservation of `amount` (a lost or forfeited bid): returns the ε to
    /// `account` and the cap to the δ budget. Dataset id 0 with no ε does nothing. CLEARING_ROLE.
    function release(uint256 id, address account, uint256 amount) external;

    /// @notice Ends a reservation of `amount` whose job ran: moves the ε and the cap to the
    /// consumed totals. Dataset id 0 with no ε does nothing. CLEARING_ROLE.
    function consume(uint256 id, uint256 amount) external;

    function datasetIdOf(address owner, bytes32 contentHash) external pure returns (uint256);
    function datasetOf(uint256 id) external view returns (Dataset memory);
    function isConsented(uint256 id, bytes32 purpose) external view returns (bool);
    function offerOf(uint256 id, address seller) external view returns (Offer memory);
    function reservedOf(uint256 id) external view returns (uint256);
    function reservedDeltaOf(uint256 id) external view returns (uint256);
}
