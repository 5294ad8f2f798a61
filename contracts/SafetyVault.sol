// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IComputeSafetyToken} from "./interfaces/IComputeSafetyToken.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";

/// @title CST stakes locked per account, and reputation bonds
contract SafetyVault is ISafetyVault, AccessControl, ReentrancyGuard {
    using SafeERC20 for IComputeSafetyToken;
    using SafeCast for uint256;

    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    /// @dev The clearing house locks stake and bonds, and releases, burns or pays locked bonds.
    bytes32 public constant CLEARING_ROLE = keccak256("CLEARING_ROLE");
    /// @dev The policy oracle's verdict consumer (the clearing house) releases and slashes stake.
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");

    uint256 private constant BPS = 10_000;

    IComputeSafetyToken public immutable cst;
    IReputationRegistry public immutable reputation;

    uint256 public cstWeiPerMicroUsd;
    uint256 public unbondingDelaySeconds;

    mapping(address account => Balance) private _balances;

    constructor(
        address governance,
        IComputeSafetyToken cst_,
        IReputationRegistry reputation_,
        uint256 cstWeiPerMicroUsd_,
        uint256 unbondingDelaySeconds_
    ) {
        cst = cst_;
        reputation = reputation_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
        _setParameters(cstWeiPerMicroUsd_, unbondingDelaySeconds_);
    }

    // ---- free stake ----

    function stake(uint256 amount) external nonReentrant {
        _requireNonZero(amount);
        _balances[msg.sender].free += amount.toUint128();
        emit Staked(msg.sender, amount);
        cst.safeTransferFrom(msg.sender, address(this), amount);
    }

    function unstake(uint256 amount) external nonReentrant {
        _requireNonZero(amount);
        Balance storage balance = _balances[msg.sender];
        if (balance.free < amount) revert InsufficientStake(msg.sender, amount, balance.free);
        balance.free -= uint128(amount);
        emit Unstaked(msg.sender, amount);
        cst.safeTransfer(msg.sender, amount);
    }

    // ---- account locks ----

    function lockStake(address account, uint256 riskBps, uint256 notionalMicroUsd, uint256 unitWei)
        external
        onlyRole(CLEARING_ROLE)
        returns (uint256 amount)
    {
        _requireNonZero(unitWei);
        amount = Math.ceilDiv(_requiredStake(account, riskBps, notionalMicroUsd), unitWei) * unitWei;
        if (amount == 0) return 0;
        Balance storage balance = _balances[account];
        if (balance.free < amount) revert InsufficientStake(account, amount, balance.free);
        balance.free -= uint128(amount);
        balance.locked += uint128(amount);
        emit StakeLocked(account, amount);
    }

    function releaseStake(address account, uint256 amount) external onlyRole(ORACLE_ROLE) {
        Balance storage balance = _takeLocked(account, amount);
        balance.free += uint128(amount);
        emit StakeReleased(account, amount);
    }

    function slashStake(address account, uint256 amount) external onlyRole(ORACLE_ROLE) nonReentrant {
        _takeLocked(account, amount);
        emit StakeSlashed(account, amount);
        cst.burn(amount);
    }

    // ---- reputation bonds ----

    function bond(uint256 amount) external nonReentrant {
        _requireNonZero(amount);
        _balances[msg.sender].bonded += amount.toUint128();
        emit Bonded(msg.sender, amount);
        cst.safeTransferFrom(msg.sender, address(this), amount);
    }

    function unbond(uint256 amount) external {
        _requireNonZero(amount);
        Balance storage balance = _balances[msg.sender];
        if (balance.bonded < amount) revert InsufficientBond(msg.sender, amount, balance.bonded);
        balance.bonded -= uint128(amount);
        balance.unbonding += uint128(amount);
        uint256 readyAt = block.timestamp + unbondingDelaySeconds;
        balance.unbondingReadyAt = readyAt.toUint64();
        emit UnbondingStarted(msg.sender, amount, readyAt);
    }

    function withdraw() external nonReentrant {
        Balance storage balance = _balances[msg.sender];
        uint256 amount = balance.unbonding;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < balance.unbondingReadyAt) {
            revert UnbondingNotReady(msg.sender, balance.unbondingReadyAt);
        }
        balance.unbonding = 0;
        balance.unbondingReadyAt = 0;
        emit Withdrawn(msg.sender, amount);
        cst.safeTransfer(msg.sender, amount);
    }

    // ---- locked bonds ----

    function lockBond(address account, uint256 amount) external onlyRole(CLEARING_ROLE) {
        _requireNonZero(amount);
        Balance storage balance = _balances[account];
        if (balance.bonded < amount) revert InsufficientBond(account, amount, balance.bonded);
        balance.bonded -= uint128(amount);
        balance.bondLocked += uint128(amount);
        emit BondLocked(account, amount);
    }

    function releaseBond(address account, uint256 amount)
        external
        onlyRole(CLEARING_ROLE)
        returns (uint256 released)
    {
        Balance storage balance;
        (balance, released) = _takeLockedBond(account, amount);
        balance.bonded += uint128(released);
        emit BondReleased(account, released);
    }

    function seizeLockedBond(address account, uint256 amount, address recipient)
        external
        onlyRole(CLEARING_ROLE)
        nonReentrant
        returns (uint256 seized)
    {
        (, seized) = _takeLockedBond(account, amount);
        emit LockedBondSeized(account, seized, recipient);
        if (seized == 0) return 0;
        if (recipient == address(0)) cst.burn(seized);
        else cst.safeTransfer(recipient, seized);
    }

    // ---- parameters and views ----

    function setParameters(uint256 cstWeiPerMicroUsd_, uint256 unbondingDelaySeconds_)
        external
        onlyRole(REGULATOR_ROLE)
    {
        _setParameters(cstWeiPerMicroUsd_, unbondingDelaySeconds_);
    }

    function requiredStake(address account, uint256 riskBps, uint256 notionalMicroUsd)
        external
        view
        returns (uint256)
    {
        return _requiredStake(account, riskBps, notionalMicroUsd);
    }

    function balanceOf(address account) external view returns (Balance memory) {
        return _balances[account];
    }

    // ---- internals ----

    /// @dev Takes `amount` out of `account`'s locked stake; the caller puts it back or burns it.
    function _takeLocked(address account, uint256 amount) private returns (Balance storage balance) {
        _requireNonZero(amount);
        balance = _balances[account];
        if (amount > balance.locked) revert ExceedsLocked(account, amount, balance.locked);
        balance.locked -= uint128(amount);
    }

    /// @dev At most what is locked. Only the clearing role's releases and seizures, each of a lock
    /// it recorded, reduce `bondLocked`, so the cap should never bind; but the vault keeps only the
    /// account's total, and a round's close or a delivery must still end should the caller's
    /// records and that total ever disagree.
    function _takeLockedBond(address account, uint256 amount)
        private
        returns (Balance storage balance, uint256 taken)
    {
        _requireNonZero(amount);
        balance = _balances[account];
        taken = amount < balance.bondLocked ? amount : balance.bondLocked;
        balance.bondLocked -= uint128(taken);
    }

    function _requiredStake(address account, uint256 riskBps, uint256 notionalMicroUsd)
        private
        view
        returns (uint256)
    {
        if (riskBps > BPS) revert InvalidRiskBps(riskBps);
        uint256 atRiskMicroUsd = (notionalMicroUsd * riskBps) / BPS;
        uint256 undiscounted = atRiskMicroUsd * cstWeiPerMicroUsd;
        return (undiscounted * (BPS - reputation.discountBpsOf(account))) / BPS;
    }

    function _setParameters(uint256 cstWeiPerMicroUsd_, uint256 unbondingDelaySeconds_) private {
        if (cstWeiPerMicroUsd_ == 0) revert InvalidParameters();
        cstWeiPerMicroUsd = cstWeiPerMicroUsd_;
        unbondingDelaySeconds = unbondingDelaySeconds_;
        emit ParametersSet(cstWeiPerMicroUsd_, unbondingDelaySeconds_);
    }

    function _requireNonZero(uint256 amount) private pure {
        if (amount == 0) revert ZeroAmount();
    }
}
