// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IComputeFutures} from "./interfaces/IComputeFutures.sol";

/// @title Compute futures: ERC-1155 tokens minted and burned by the clearing house
contract ComputeFutures is IComputeFutures, ERC1155, AccessControl {
    /// @dev The clearing house: mints a future when its winner claims it, burns it at redemption.
    bytes32 public constant CLEARING_ROLE = keccak256("CLEARING_ROLE");

    constructor(address governance, string memory uri_) ERC1155(uri_) {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
    }

    function mint(address holder, uint256[] calldata ids) external onlyRole(CLEARING_ROLE) {
        uint256[] memory ones = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            ones[i] = 1;
        }
        _mintBatch(holder, ids, ones, "");
    }

    function burn(address holder, uint256 id) external onlyRole(CLEARING_ROLE) {
        _burn(holder, id, 1);
    }

    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
