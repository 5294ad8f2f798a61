// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title TestUSD — TEST-ONLY payment token for local chains (USDC stands in on a real network)
interface ITestUSD is IERC20 {
    /// @notice Mints `amount` (6 decimals) to `to`. Holders of MINTER_ROLE only.
    function mint(address to, uint256 amount) external;
}
