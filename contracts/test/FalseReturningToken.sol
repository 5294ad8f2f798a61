// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TEST-ONLY ERC-20 whose `transferFrom` moves nothing and returns false instead of
/// reverting, as some deployed tokens do
contract FalseReturningToken is ERC20 {
    constructor() ERC20("False-returning token (test only)", "FALSE") {}

    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return false;
    }
}
