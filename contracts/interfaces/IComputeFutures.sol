// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @title Compute futures C(P, r, ε) as ERC-1155 tokens, one unit per filled bundle
/// @notice A future's id is its winning bid's EIP-712 digest as a uint256; its terms — round,
/// bundle (items, quantities), privacy budget P (dataset, ε, δ), risk rating r, price — are the
/// clearing house's record under that digest (`IClearingHouse.bidOf`) and the bid's `Revealed`
/// event, served as JSON at `uri(id)` (ERC-1155 metadata: clients substitute `{id}`). The
/// clearing house mints a future when its winner claims it and burns it when its holder
/// redeems it; in between it moves like any ERC-1155 token.
interface IComputeFutures is IERC1155 {
    /// @notice Mints one unit of each id to `holder`, with the ERC-1155 acceptance check.
    /// CLEARING_ROLE.
    function mint(address holder, uint256[] calldata ids) external;

    /// @notice Burns `holder`'s future (redeemed into a job). CLEARING_ROLE.
    function burn(address holder, uint256 id) external;
}
