// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IClearingHouseTypes} from "./interfaces/IClearingHouseTypes.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IPolicyRegistry} from "./interfaces/IPolicyRegistry.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";

/// @title The clearing house's state and the steps its entry points and its delivery module share
/// @dev `ClearingHouse` (rounds and bids), `ClearingHouseResults` (posts, challenges, prices,
/// issue) and `ClearingHouseDelivery` (withdrawals, claims, redemptions, verdicts) all inherit
/// this contract and declare no state of their own, so they read one storage layout; the last two
/// run by delegatecall from `ClearingHouse`. Three contracts because one would exceed EIP-170's
/// 24,576-byte code limit.
abstract contract ClearingHouseBase is IClearingHouseTypes, AccessControl, EIP712, ReentrancyGuardTransient {
    bytes32 public constant AUCTIONEER_ROLE = keccak256("AUCTIONEER_ROLE");
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    /// @dev A batch of fills tallies every item of its round in memory; this bounds that memory.
    uint256 internal constant MAX_ITEMS = 512;
    /// @dev BidState.stakeMilliCst's unit: a bid's stake is locked rounded up to a multiple.
    uint256 internal constant STAKE_UNIT_WEI = 1e15;
    uint256 internal constant BPS = 10_000;
    /// @dev BidState.flags: what the record owed its bidder was withdrawn.
    uint8 internal constant REFUNDED = 2;
    /// @dev BidState.flags: the future's ERC-1155 token was minted; its holder redeems it.
    uint8 internal constant CLAIMED = 4;
    /// @dev The auctioneer's post; challenges are numbered from 2.
    uint32 internal constant POSTED_VERSION = 1;

    ISafetyVault public immutable vault;
    IReputationRegistry public immutable reputation;
    IPolicyOracle public immutable oracle;
    IPrivacyBudgetLedger public immutable ledger;
    IComputeFutures public immutable futures;
    IERC20 public immutable paymentToken;
    /// @dev Receives forfeits.
    address public immutable treasury;

    uint32 internal _roundCount;
    /// @dev Each round's copy of the rules of the policy it pinned.
    mapping(uint32 roundId => IPolicyRegistry.Rules) internal _rules;
    mapping(uint32 roundId => Round) internal _rounds;
    mapping(uint32 roundId => mapping(uint16 item => AskState)) internal _asks;
    mapping(uint32 roundId => mapping(address provider => uint16 items)) internal _providerItems;
    mapping(uint32 roundId => mapping(uint32 version => Result)) internal _results;
    mapping(uint32 roundId => mapping(uint32 version => mapping(uint256 batch => Batch))) internal _batches;
    /// @dev Per result, four items to a word: each item's allocated units in its low 32 bits and
    /// its units allocated outside the equity classes in the next 32.
    mapping(uint32 roundId => mapping(uint32 version => mapping(uint256 word => uint256))) internal _allocations;
    mapping(bytes32 digest => BidRecord) internal _bids;
    mapping(bytes32 futureId => address) internal _redeemers;
    mapping(address account => uint256 microUsd) internal _credits;
    mapping(uint32 roundId => mapping(address provider => ProviderBond)) internal _providerBonds;
    mapping(uint32 roundId => address[]) internal _providers;

    constructor(
        address governance,
        ISafetyVault vault_,
        IReputationRegistry reputation_,
        IPolicyOracle oracle_,
        IPrivacyBudgetLedger ledger_,
        IComputeFutures futures_,
        IERC20 paymentToken_,
        address treasury_
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
    }

    // ---- records ----

    function _stateOf(bytes32 digest) internal view returns (BidState memory) {
        return _bids[digest].state;
    }

    function _setState(bytes32 digest, BidState memory state) internal {
        _bids[digest].state = state;
    }

    function _requireStatus(bytes32 digest, Status actual, Status expected) internal pure {
        if (actual != expected) revert UnexpectedStatus(digest, expected, actual);
    }

    function _requireBidder(bytes32 digest) internal view {
        address bidder = _bids[digest].bidder;
        if (msg.sender != bidder) revert NotBidder(msg.sender, bidder);
    }

    function _stakeWei(BidState memory state) internal pure returns (uint256) {
        return uint256(state.stakeMilliCst) * STAKE_UNIT_WEI;
    }

    /// @dev The vault locks whole multiples of STAKE_UNIT_WEI, so the division is exact.
    function _stakeMilliCst(uint256 stakeWei) internal pure returns (uint32) {
        uint256 stakeMilliCst = stakeWei / STAKE_UNIT_WEI;
        if (stakeMilliCst > type(uint32).max) revert StakeAboveMax(stakeWei, type(uint32).max * STAKE_UNIT_WEI);
        return uint32(stakeMilliCst);
    }

    /// @dev From Forfeited on (the enum's order), a record's part of its deposit is settled:
    /// what it did not pay is its bidder's.
    function _refundable(BidState memory state) internal pure returns (uint256) {
        if (state.status < Status.Forfeited || state.flags & REFUNDED != 0) return 0;
        return state.depositMicroUsd - state.paymentMicroUsd;
    }

    function _releaseHolds(BidState memory state, address bidder, uint96 datasetId) internal {
        uint256 stakeWei = _stakeWei(state);
        if (stakeWei != 0) vault.releaseStake(bidder, stakeWei);
        ledger.release(datasetId, bidder, state.epsilonMicros);
    }

    // ---- phases ----

    function _requirePhase(uint32 roundId, Phase expected) internal view returns (Round storage round) {
        round = _rounds[roundId];
        Phase actual = _phase(roundId);
        if (actual != expected) revert WrongPhase(roundId, expected, actual);
    }

    /// @dev A round is final once its challenge window has closed and it is priced, has no
    /// result to price, or its pricing window has passed.
    function _phase(uint32 roundId) internal view returns (Phase) {
        Round storage round = _rounds[roundId];
        Deadlines memory deadlines = round.deadlines;
        if (deadlines.commitTimestamp == 0) return Phase.None;
        if (block.timestamp <= deadlines.commitTimestamp) return Phase.Commit;
        if (block.timestamp <= deadlines.revealTimestamp) return Phase.Reveal;
        if (block.timestamp <= deadlines.postTimestamp) return Phase.Post;
        uint256 challengeEnd = round.challengeEndTimestamp;
        if (block.timestamp <= challengeEnd) return Phase.Challenge;
        if (round.priced || round.standingVersion == 0) return Phase.Final;
        if (block.timestamp <= challengeEnd + _rules[roundId].rates.pricingWindowSeconds) return Phase.Price;
        return Phase.Final;
    }
}
