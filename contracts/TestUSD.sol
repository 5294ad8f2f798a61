// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ITestUSD} from "./interfaces/ITestUSD.sol";

/// @title TestUSD — TEST-ONLY. The payment token on local chains; never deploy it to a real
/// network, where every contract is given USDC's address instead.
contract TestUSD is ITestUSD, ERC20Permit, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    constructor(address governance) ERC20("Test USD (test only)", "tUSD") ERC20Permit("Test USD (test only)") {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(MINTER_ROLE, governance);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
