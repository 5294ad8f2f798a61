// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title An immutable list of addresses stored as contract code (the SSTORE2 pattern)
/// @notice Reading the whole list costs one cold account access and a copy, instead of a cold
/// SLOAD per entry: what makes a k-of-n signature check cost ecrecover and calldata per signer.
library AddressSetCode {
    error WriteFailed();

    /// @dev The code is a STOP byte (so calling it does nothing) then one 32-byte word per address.
    function write(address[] memory addresses) internal returns (address pointer) {
        bytes memory data = abi.encodePacked(hex"00", addresses);
        // Init code: PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN
        // copies the data that follows its 10 bytes into memory and returns it as the code.
        bytes memory init = abi.encodePacked(hex"61", uint16(data.length), hex"80600a3d393df3", data);
        assembly ("memory-safe") {
            pointer := create(0, add(init, 32), mload(init))
        }
        if (pointer == address(0)) revert WriteFailed();
    }

    function read(address pointer) internal view returns (address[] memory addresses) {
        bytes memory code = pointer.code;
        uint256 count = code.length == 0 ? 0 : (code.length - 1) / 32;
        addresses = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            address entry;
            assembly ("memory-safe") {
                entry := mload(add(add(code, 33), mul(i, 32)))
            }
            addresses[i] = entry;
        }
    }
}
