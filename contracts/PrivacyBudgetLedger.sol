// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";

/// @title Privacy budgets per dataset, reserved, released and consumed by the clearing house
contract PrivacyBudgetLedger is IPrivacyBudgetLedger, ERC1155, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev The clearing house: reserves budget at commit, releases or consumes it later.
    bytes32 public constant CLEARING_ROLE = keccak256("CLEARING_ROLE");

    uint256 private constant MICROS_PER_EPSILON = 1e6;
    /// @dev A bid's dataset id when it uses no private data: it reserves nothing.
    uint256 private constant NO_DATASET = 0;
    /// @dev Data categories, one bit each, as the risk rubric names them: health 1, genomic 2,
    /// biometric 4, financial 8; a dataset with none holds public data.
    uint8 private constant ALL_CATEGORIES = 15;

    /// @dev A dataset's counters in one slot, which a reservation (every bid's commit) reads and
    /// writes once. δ is counted in jobs: each is charged the same cap, so the δ total is
    /// `deltaJobs` caps. Every ε amount is at most the registered total, a uint40.
    struct Budget {
        uint64 maxDeltaAtto;
        uint40 totalMicroEpsilon;
        uint40 consumedMicroEpsilon;
        uint40 reservedMicroEpsilon;
        uint24 deltaJobs;
        uint24 consumedJobs;
        uint24 reservedJobs;
    }

    IERC20 public immutable paymentToken;

    mapping(uint256 id => Budget) private _budgets;
    mapping(uint256 id => address) private _owners;
    mapping(uint256 id => mapping(bytes32 purpose => bool)) private _consents;
    mapping(uint256 id => mapping(address seller => Offer)) private _offers;

    constructor(address governance, IERC20 paymentToken_, string memory uri_) ERC1155(uri_) {
        paymentToken = paymentToken_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    // ---- data owners and holders ----

    function register(
        bytes32 contentHash,
        uint64 totalMicroEpsilon,
        uint64 maxDeltaAtto,
        uint64 totalDeltaAtto,
        bytes32[] calldata purposes,
        uint8 categories
    ) external returns (uint256 id) {
        if (totalMicroEpsilon == 0) revert ZeroBudget();
        if (categories > ALL_CATEGORIES) revert UnknownCategories(categories);
        if (totalMicroEpsilon > type(uint40).max) revert BudgetTooLarge(totalMicroEpsilon, type(uint40).max);
        // A zero cap would charge jobs nothing, and is how release and consume tell a dataset
        // that was never registered.
        if (maxDeltaAtto == 0) revert ZeroDeltaCap();
        uint256 jobs = totalDeltaAtto / maxDeltaAtto;
        if (jobs == 0) revert DeltaBudgetBelowCap(totalDeltaAtto, maxDeltaAtto);
        if (jobs > type(uint24).max) revert TooManyJobs(jobs, type(uint24).max);
        id = datasetIdOf(msg.sender, contentHash);
        if (_owners[id] != address(0)) revert DatasetExists(id);
        _owners[id] = msg.sender;
        _budgets[id] = Budget(maxDeltaAtto, uint40(totalMicroEpsilon), 0, 0, uint24(jobs), 0, 0);
        emit DatasetRegistered(
            id, msg.sender, contentHash, totalMicroEpsilon, maxDeltaAtto, jobs * maxDeltaAtto, categories
        );
        for (uint256 i = 0; i < purposes.length; ++i) {
            _setConsent(id, purposes[i], true);
        }
        _mint(msg.sender, id, totalMicroEpsilon, "");
    }

    function setConsent(uint256 id, bytes32 purpose, bool consented) external {
        if (_owners[id] != msg.sender) revert NotDatasetOwner(id, msg.sender);
        _setConsent(id, purpose, consented);
    }

    function offer(uint256 id, uint64 amountMicroEpsilon, uint64 priceMicroUsdPerEpsilon) external {
        _requireDataset(id);
        _offers[id][msg.sender] = Offer(amountMicroEpsilon, priceMicroUsdPerEpsilon);
        emit Offered(id, msg.sender, amountMicroEpsilon, priceMicroUsdPerEpsilon);
    }

    function buy(uint256 id, address seller, uint64 amountMicroEpsilon, uint64 priceMicroUsdPerEpsilon)
        external
        nonReentrant
    {
        Offer storage offered = _offers[id][seller];
        if (offered.priceMicroUsdPerEpsilon != priceMicroUsdPerEpsilon) {
            revert PriceChanged(id, seller, priceMicroUsdPerEpsilon, offered.priceMicroUsdPerEpsilon);
        }
        if (amountMicroEpsilon > offered.amountMicroEpsilon) {
            revert ExceedsOffer(id, seller, amountMicroEpsilon, offered.amountMicroEpsilon);
        }
        offered.amountMicroEpsilon -= amountMicroEpsilon;
        uint256 paidMicroUsd =
            Math.mulDiv(amountMicroEpsilon, priceMicroUsdPerEpsilon, MICROS_PER_EPSILON, Math.Rounding.Ceil);
        emit Bought(id, seller, msg.sender, amountMicroEpsilon, paidMicroUsd);
        paymentToken.safeTransferFrom(msg.sender, seller, paidMicroUsd);
        // Last: the buyer's receiver hook runs after every effect.
        _safeTransferFrom(seller, msg.sender, id, amountMicroEpsilon, "");
    }

    // ---- the clearing house ----

    function reserve(uint256 id, address account, uint256 amount, bytes32 purpose, uint256 deltaAtto)
        external
        onlyRole(CLEARING_ROLE)
        returns (uint256 remainingMicroEpsilon)
    {
        if (id == NO_DATASET && amount == 0) return 0;
        Budget storage budget = _budgets[id];
        if (budget.totalMicroEpsilon == 0) revert UnknownDataset(id);
        if (!_consents[id][purpose]) revert PurposeNotConsented(id, purpose);
        uint256 capAtto = budget.maxDeltaAtto;
        if (deltaAtto > capAtto) revert DeltaAboveCap(id, deltaAtto, capAtto);
        uint256 openJobs = uint256(budget.consumedJobs) + budget.reservedJobs;
        if (openJobs >= budget.deltaJobs) {
            revert DeltaBudgetExhausted(id, capAtto, (budget.deltaJobs - openJobs) * capAtto);
        }
        _move(account, address(0), id, amount);
        // The burn succeeded, so `amount` is within the holder's balance, itself within the total.
        budget.reservedMicroEpsilon += uint40(amount);
        budget.reservedJobs += 1;
        return budget.totalMicroEpsilon - budget.consumedMicroEpsilon;
    }

    /// @dev No receiver hook: the budget returns to the account it was reserved from, so a
    /// contract that rejects tokens can't block the release (and with it a round's finalisation).
    function release(uint256 id, address account, uint256 amount) external onlyRole(CLEARING_ROLE) {
        if (id == NO_DATASET && amount == 0) return;
        _takeReserved(id, amount);
        _move(address(0), account, id, amount);
    }

    function consume(uint256 id, uint256 amount) external onlyRole(CLEARING_ROLE) {
        if (id == NO_DATASET && amount == 0) return;
        Budget storage budget = _takeReserved(id, amount);
        budget.consumedMicroEpsilon += uint40(amount);
        budget.consumedJobs += 1;
        emit Consumed(id, amount, budget.maxDeltaAtto);
    }

    // ---- views ----

    function datasetIdOf(address owner, bytes32 contentHash) public pure returns (uint256) {
        // 96 bits, so a bid's dataset id packs beside its bidder's address in one storage slot;
        // squatting a victim's id would take a 2^96 second preimage.
        return uint96(uint256(keccak256(abi.encode(owner, contentHash))));
    }

    function datasetOf(uint256 id) external view returns (Dataset memory) {
        Budget memory budget = _budgets[id];
        uint64 cap = budget.maxDeltaAtto;
        return Dataset(
            _owners[id],
            cap,
            budget.totalMicroEpsilon,
            budget.consumedMicroEpsilon,
            cap * budget.deltaJobs,
            cap * budget.consumedJobs
        );
    }

    function isConsented(uint256 id, bytes32 purpose) external view returns (bool) {
        return _consents[id][purpose];
    }

    function offerOf(uint256 id, address seller) external view returns (Offer memory) {
        return _offers[id][seller];
    }

    function reservedOf(uint256 id) external view returns (uint256) {
        return _budgets[id].reservedMicroEpsilon;
    }

    function reservedDeltaOf(uint256 id) external view returns (uint256) {
        Budget memory budget = _budgets[id];
        return uint256(budget.maxDeltaAtto) * budget.reservedJobs;
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    // ---- internals ----

    function _move(address from, address to, uint256 id, uint256 amount) private {
        uint256[] memory ids = new uint256[](1);
        uint256[] memory amounts = new uint256[](1);
        ids[0] = id;
        amounts[0] = amount;
        _update(from, to, ids, amounts);
    }

    /// @dev Ends one reservation: its ε and the cap it was charged leave the reserves.
    function _takeReserved(uint256 id, uint256 amount) private returns (Budget storage budget) {
        budget = _budgets[id];
        uint256 reserved = budget.reservedMicroEpsilon;
        if (amount > reserved) revert ExceedsReserved(id, amount, reserved);
        uint256 capAtto = budget.maxDeltaAtto;
        if (capAtto == 0) revert UnknownDataset(id);
        // No reservation open, whatever ε is left reserved.
        if (budget.reservedJobs == 0) revert ExceedsReservedDelta(id, capAtto, 0);
        budget.reservedMicroEpsilon = uint40(reserved - amount);
        budget.reservedJobs -= 1;
    }

    function _setConsent(uint256 id, bytes32 purpose, bool consented) private {
        _consents[id][purpose] = consented;
        emit ConsentSet(id, purpose, consented);
    }

    function _requireDataset(uint256 id) private view {
        if (_owners[id] == address(0)) revert UnknownDataset(id);
    }
}
