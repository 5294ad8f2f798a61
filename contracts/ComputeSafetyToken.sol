// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IComputeSafetyToken} from "./interfaces/IComputeSafetyToken.sol";

/// @title Compute Safety Token (CST), 18 decimals, with EIP-2612 permit
contract ComputeSafetyToken is IComputeSafetyToken, ERC20Permit, AccessControl {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @dev Held by the SafetyVault alone: CST burns only as a slash.
    bytes32 public constant BURNER_ROLE = keccak256("BURNER_ROLE");

    uint256 private _totalMinted;
    uint256 private _totalBurned;

    constructor(address governance) ERC20("Compute Safety Token", "CST") ERC20Permit("Compute Safety Token") {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    function mint(address to, uint256 amount) external onlyRole(GOVERNANCE_ROLE) {
        _totalMinted += amount;
        _mint(to, amount);
    }

    function burn(uint256 amount) external onlyRole(BURNER_ROLE) {
        _totalBurned += amount;
        _burn(msg.sender, amount);
    }

    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    function totalBurned() external view returns (uint256) {
        return _totalBurned;
    }
}
