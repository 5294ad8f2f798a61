// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Compute Safety Token (CST)
/// @notice Staked per job in proportion to its safety risk; burned when a job violates policy.
interface IComputeSafetyToken is IERC20 {
    /// @notice Mints `amount` CST to `to`. Governance only.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's own CST. The vault only, when slashing.
    function burn(uint256 amount) external;

    /// @notice Every CST ever minted; `totalSupply() + totalBurned() == totalMinted()`.
    function totalMinted() external view returns (uint256);

    /// @notice Every CST ever burned by slashing.
    function totalBurned() external view returns (uint256);
}
