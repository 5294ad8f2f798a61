// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IReputationRegistry} from "./interfaces/IReputationRegistry.sol";
import {ISafetyVault} from "./interfaces/ISafetyVault.sol";
import {IStakeEnforcer} from "./interfaces/IStakeEnforcer.sol";
import {VerdictLib} from "./libraries/VerdictLib.sol";

/// @title Verdict consumer for jobs whose stake was locked directly (before settlement)
contract StakeEnforcer is IStakeEnforcer, AccessControl {
    bytes32 public constant CLEARING_ROLE = keccak256("CLEARING_ROLE");
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    ISafetyVault public immutable vault;
    IReputationRegistry public immutable reputation;
    IPolicyOracle public immutable oracle;

    uint256 public providerBondSlash;
    mapping(bytes32 jobId => address) private _providers;

    constructor(
        address governance,
        ISafetyVault vault_,
        IReputationRegistry reputation_,
        IPolicyOracle oracle_,
        uint256 providerBondSlash_
    ) {
        vault = vault_;
        reputation = reputation_;
        oracle = oracle_;
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(REGULATOR_ROLE, governance);
        _setProviderBondSlash(providerBondSlash_);
    }

    function openJob(bytes32 jobId, address buyer, address provider, uint256 stake)
        external
        onlyRole(CLEARING_ROLE)
    {
        if (provider == address(0)) revert InvalidProvider();
        _providers[jobId] = provider;
        emit JobOpened(jobId, buyer, provider, stake);
        vault.lock(jobId, buyer, stake);
        oracle.openJob(jobId);
    }

    function onVerdict(bytes32 jobId, bool compliant, uint8 fault, bytes32) external {
        if (msg.sender != address(oracle)) revert NotPolicyOracle(msg.sender);
        address provider = _providers[jobId];
        if (provider == address(0)) revert UnknownJob(jobId);
        delete _providers[jobId];
        (address buyer, uint256 locked) = vault.lockOf(jobId);
        uint256 burned;
        if (compliant) {
            vault.release(jobId);
        } else if (fault == VerdictLib.FAULT_BUYER) {
            vault.slash(jobId, locked);
            burned = locked;
        } else {
            vault.release(jobId);
            burned = _slashProviderBond(provider);
        }
        emit VerdictEnforced(jobId, compliant, fault, burned);
        reputation.recordAudit(buyer, compliant || fault != VerdictLib.FAULT_BUYER);
        reputation.recordAudit(provider, compliant || fault != VerdictLib.FAULT_PROVIDER);
    }

    function setProviderBondSlash(uint256 amount) external onlyRole(REGULATOR_ROLE) {
        _setProviderBondSlash(amount);
    }

    function providerOf(bytes32 jobId) external view returns (address) {
        return _providers[jobId];
    }

    /// @dev A provider whose bond is smaller than the penalty loses what it has.
    function _slashProviderBond(address provider) private returns (uint256 burned) {
        ISafetyVault.Balance memory balance = vault.balanceOf(provider);
        uint256 slashable = uint256(balance.bonded) + balance.unbonding + balance.bondLocked;
        burned = providerBondSlash < slashable ? providerBondSlash : slashable;
        if (burned > 0) vault.slashBond(provider, burned);
    }

    function _setProviderBondSlash(uint256 amount) private {
        providerBondSlash = amount;
        emit ProviderBondSlashSet(amount);
    }
}
