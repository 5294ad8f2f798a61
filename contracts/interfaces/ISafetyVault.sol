// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title CST stakes locked per account, and long-term reputation bonds
/// @notice An account stakes CST (free stake); a clearing role locks part of it for a bid
/// (`lockStake`), and the policy oracle's side returns it to free stake or slashes it, burning
/// CST (`releaseStake`, `slashStake`). The vault keeps only each account's locked total; the
/// caller keeps each bid's amount in its own record, so a bid costs the vault no storage of its
/// own. Bonds are long-term collateral with an unbonding delay. A clearing role may lock part of
/// an account's bond for as long as what it backs is at stake (an auctioneer's posted result, a
/// provider's offered capacity): a locked bond cannot be unbonded, and only the clearing role
/// releases it, burns it, or pays it to whoever earned it.
interface ISafetyVault {
    struct Balance {
        uint128 free;
        uint128 locked;
        uint128 bonded;
        uint128 unbonding;
        uint64 unbondingReadyAt;
        uint128 bondLocked;
    }

    error ZeroAmount();
    error InsufficientStake(address account, uint256 needed, uint256 free);
    error InsufficientBond(address account, uint256 needed, uint256 bonded);
    error ExceedsLocked(address account, uint256 amount, uint256 locked);
    error NothingToWithdraw(address account);
    error UnbondingNotReady(address account, uint256 readyAt);
    error InvalidRiskBps(uint256 riskBps);
    error InvalidParameters();

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event StakeLocked(address indexed account, uint256 amount);
    event StakeReleased(address indexed account, uint256 amount);
    event StakeSlashed(address indexed account, uint256 burned);
    event Bonded(address indexed account, uint256 amount);
    event UnbondingStarted(address indexed account, uint256 amount, uint256 readyAt);
    event Withdrawn(address indexed account, uint256 amount);
    event BondLocked(address indexed account, uint256 amount);
    event BondReleased(address indexed account, uint256 amount);
    /// @dev `recipient` zero: burned.
    event LockedBondSeized(address indexed account, uint256 amount, address indexed recipient);
    event ParametersSet(uint256 cstWeiPerMicroUsd, uint256 unbondingDelaySeconds);

    function stake(uint256 amount) external;
    function unstake(uint256 amount) external;

    /// @notice Locks the stake a bid of `account`'s needs — `requiredStake(account, riskBps,
    /// notionalMicroUsd)` rounded up to a whole multiple of `unitWei`, the granularity the
    /// caller records it in — as an account lock. A stake of zero locks nothing. CLEARING_ROLE.
    /// @return amount the CST (wei) locked, a multiple of `unitWei`
    function lockStake(address account, uint256 riskBps, uint256 notionalMicroUsd, uint256 unitWei)
        external
        returns (uint256 amount);

    /// @notice Returns `amount` of `account`'s locked stake to its free stake; the caller
    /// answers for which bid it belonged to. ORACLE_ROLE.
    function releaseStake(address account, uint256 amount) external;

    /// @notice Burns `amount` of `account`'s locked stake. ORACLE_ROLE.
    function slashStake(address account, uint256 amount) external;

    function bond(uint256 amount) external;

    /// @notice Starts unbonding `amount`; the delay restarts for everything unbonding.
    function unbond(uint256 amount) external;

    /// @notice Pays out everything unbonding once its delay has passed.
    function withdraw() external;

    /// @notice Moves `amount` of `account`'s bond into its locked bond. CLEARING_ROLE.
    function lockBond(address account, uint256 amount) external;

    /// @notice Returns up to `amount` of `account`'s locked bond to its bond. CLEARING_ROLE.
    /// @return released what was locked of `amount`
    function releaseBond(address account, uint256 amount) external returns (uint256 released);

    /// @notice Takes up to `amount` of `account`'s locked bond: burned if `recipient` is zero,
    /// else paid to `recipient` in CST. CLEARING_ROLE.
    /// @return seized what was locked of `amount`
    function seizeLockedBond(address account, uint256 amount, address recipient)
        external
        returns (uint256 seized);

    /// @notice Sets the CST rate and the unbonding delay. REGULATOR_ROLE.
    function setParameters(uint256 cstWeiPerMicroUsd, uint256 unbondingDelaySeconds) external;

    /// @notice CST (wei) to lock for a job: notional × risk, converted at the regulator's rate,
    /// reduced by the account's reputation discount.
    function requiredStake(address account, uint256 riskBps, uint256 notionalMicroUsd)
        external
        view
        returns (uint256);

    function balanceOf(address account) external view returns (Balance memory);
    function cstWeiPerMicroUsd() external view returns (uint256);
    function unbondingDelaySeconds() external view returns (uint256);
}
