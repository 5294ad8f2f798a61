// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IPrivacyBudgetLedger} from "./interfaces/IPrivacyBudgetLedger.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";
import {VerdictLib} from "./libraries/VerdictLib.sol";

/// @title The clearing house's payouts and futures after a round: withdrawals, claims,
/// redemptions into oracle jobs, and the verdicts on them
/// @dev Runs only by delegatecall from `ClearingHouse`, on its storage, with its roles in the
/// other contracts; called directly it reads its own empty storage and holds no role anywhere,
/// so every call fails.
contract ClearingHouseDelivery is ClearingHouseBase {
    using SafeERC20 for IERC20;

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

    function claim(bytes32[] calldata futureIds) external nonReentrant {
        futures.mint(msg.sender, _markClaimed(msg.sender, futureIds));
    }

    function claimFor(address bidder, bytes32[] calldata futureIds, address to) external nonReentrant {
        if (!futures.isApprovedForAll(bidder, msg.sender)) revert NotApprovedForAll(bidder, msg.sender);
        futures.mint(to, _markClaimed(bidder, futureIds));
    }

    function redeem(uint256 futureId, bytes32 declarationHash) external nonReentrant {
        bytes32 digest = bytes32(futureId);
        BidState memory state = _stateOf(digest);
        _requireStatus(digest, state.status, Status.Future);
        // Closed, so that its provider's bond is committed before any verdict can slash it.
        if (!_rounds[state.roundId].closed) revert RoundNotClosed(state.roundId);
        uint256 deliveryEnd = _deliveryEnd(state);
        if (block.timestamp > deliveryEnd) revert DeliveryOver(digest, deliveryEnd);
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
        emit Redeemed(digest, msg.sender, stakeWei, declarationHash);
        if (claimed) futures.burn(msg.sender, futureId);
        oracle.openJob(digest);
    }

    function onVerdict(bytes32 jobId, bool compliant, uint8 fault, bytes32) external nonReentrant {
        if (msg.sender != address(oracle)) revert NotPolicyOracle(msg.sender);
        BidState memory state = _stateOf(jobId);
        if (state.status != Status.Redeemed) revert UnknownJob(jobId);
        address buyer = _redeemers[jobId];
        address provider = _providerOf(state);
        bool providerAtFault = fault == VerdictLib.FAULT_PROVIDER;
        state.status = compliant ? Status.Settled : Status.Voided;
        _setState(jobId, state);
        address paid = providerAtFault ? buyer : provider;
        _credits[paid] += state.paymentMicroUsd;
        uint256 burnedWei = _enforceStake(state, fault, buyer);
        burnedWei += _closeDelivery(state.roundId, provider, providerAtFault);
        emit VerdictEnforced(jobId, compliant, fault, paid, state.paymentMicroUsd, burnedWei);
        // Spent on every verdict: a verdict judges a job that ran on the data, and privacy
        // lost to a violating job is lost all the same.
        ledger.consume(_bids[jobId].datasetId, state.epsilonMicros);
        _recordAudits(state, buyer, fault != VerdictLib.FAULT_BUYER, provider, !providerAtFault);
    }

    function expire(Expiry[] calldata expiries) external nonReentrant {
        for (uint256 i = 0; i < expiries.length; ++i) {
            bytes32 digest = expiries[i].futureId;
            BidState memory state = _stateOf(digest);
            _requireStatus(digest, state.status, Status.Future);
            // Closed, so that the provider's bond for its other futures is held before this one
            // can end (ending the last open one releases it).
            if (!_rounds[state.roundId].closed) revert RoundNotClosed(state.roundId);
            uint256 deliveryEnd = _deliveryEnd(state);
            if (block.timestamp <= deliveryEnd) revert DeliveryNotOver(digest, deliveryEnd);
            BidRecord storage record = _bids[digest];
            address bidder = record.bidder;
            address holder = bidder;
            if (state.flags & CLAIMED != 0) {
                holder = expiries[i].holder;
                futures.burn(holder, uint256(digest));
            }
            state.status = Status.Expired;
            _setState(digest, state);
            address provider = _providerOf(state);
            // The provider held the capacity for the whole slot: it is paid as if delivered.
            _credits[provider] += state.paymentMicroUsd;
            emit Expired(digest, holder, state.paymentMicroUsd);
            uint256 stakeWei = _stakeWei(state);
            if (stakeWei != 0) vault.releaseStake(bidder, stakeWei);
            // The ε bought moves with the future: whoever holds it gets the reservation back.
            ledger.release(record.datasetId, holder, state.epsilonMicros);
            _closeDelivery(state.roundId, provider, false);
        }
    }

    function timeOut(bytes32[] calldata jobIds) external nonReentrant {
        for (uint256 i = 0; i < jobIds.length; ++i) {
            bytes32 jobId = jobIds[i];
            BidState memory state = _stateOf(jobId);
            _requireStatus(jobId, state.status, Status.Redeemed);
            uint256 deadline = _deliveryEnd(state) + _rules[state.roundId].rates.verdictWindowSeconds;
            if (block.timestamp <= deadline) revert VerdictNotOverdue(jobId, deadline);
            state.status = Status.TimedOut;
            _setState(jobId, state);
            address buyer = _redeemers[jobId];
            address provider = _providerOf(state);
            // Each party gets its worst verdict: the buyer pays and loses its stake, as when it is
            // at fault; the provider is unpaid and slashed, as when it is.
            _credits[treasury] += state.paymentMicroUsd;
            uint256 stakeWei = _stakeWei(state);
            if (stakeWei != 0) vault.slashStake(buyer, stakeWei);
            uint256 bondWei = _closeDelivery(state.roundId, provider, true);
            emit TimedOut(jobId, state.paymentMicroUsd, stakeWei, bondWei);
            ledger.consume(_bids[jobId].datasetId, state.epsilonMicros);
            _recordAudits(state, buyer, false, provider, false);
        }
    }

    /// @dev Marks `bidder`'s issued futures claimed; returns their token ids.
    function _markClaimed(address bidder, bytes32[] calldata futureIds) private returns (uint256[] memory ids) {
        ids = new uint256[](futureIds.length);
        for (uint256 i = 0; i < futureIds.length; ++i) {
            bytes32 digest = futureIds[i];
            BidState memory state = _stateOf(digest);
            _requireStatus(digest, state.status, Status.Future);
            address winner = _bids[digest].bidder;
            if (bidder != winner) revert NotBidder(bidder, winner);
            if (state.flags & CLAIMED != 0) revert AlreadyClaimed(digest);
            state.flags |= CLAIMED;
            _setState(digest, state);
            ids[i] = uint256(digest);
        }
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

    /// @dev The stake is the redeemer's: a buyer's fault burns it, any other verdict frees it.
    function _enforceStake(BidState memory state, uint8 fault, address redeemer) private returns (uint256 burnedWei) {
        uint256 stakeWei = _stakeWei(state);
        if (fault == VerdictLib.FAULT_BUYER) {
            if (stakeWei != 0) vault.slashStake(redeemer, stakeWei);
            return stakeWei;
        }
        if (stakeWei != 0) vault.releaseStake(redeemer, stakeWei);
    }

    /// @dev One of the provider's futures in the round is done: at its fault, the policy's slash
    /// is burned from the bond the round holds for it (held at close, so it is there); after the
    /// last, what the round still holds is released.
    function _closeDelivery(uint32 roundId, address provider, bool atFault) private returns (uint256 burnedWei) {
        ProviderBond storage bond = _providerBonds[roundId][provider];
        uint256 heldWei = bond.lockedWei;
        if (atFault) {
            uint256 slashWei = _rules[roundId].rates.providerSlashWei;
            burnedWei = slashWei < heldWei ? slashWei : heldWei;
            if (burnedWei != 0) vault.seizeLockedBond(provider, burnedWei, address(0));
            heldWei -= burnedWei;
        }
        uint32 open = bond.openFutures - 1;
        bond.openFutures = open;
        if (open == 0) {
            bond.lockedWei = 0;
            if (heldWei != 0) vault.releaseBond(provider, heldWei);
        } else {
            bond.lockedWei = uint128(heldWei);
        }
    }

    /// @dev An audit is worth what the job put at risk: its payment at its risk score.
    function _recordAudits(BidState memory state, address buyer, bool buyerPassed, address provider, bool providerPassed)
        private
    {
        uint256 worthMicroUsd = (uint256(state.paymentMicroUsd) * state.riskBps) / BPS;
        reputation.recordAudit(buyer, provider, buyerPassed, worthMicroUsd);
        reputation.recordAudit(provider, buyer, providerPassed, worthMicroUsd);
    }

    function _providerOf(BidState memory state) private view returns (address) {
        return _asks[state.roundId][state.providerItem].provider;
    }

    /// @dev A future delivers until the slot of its provider item ends: the bundle's latest.
    function _deliveryEnd(BidState memory state) private view returns (uint256) {
        return _asks[state.roundId][state.providerItem].deliveryEndTimestamp;
    }
}
