// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title TEST-ONLY contract wallet whose ERC-1155 receiver hook misbehaves on demand
/// @notice Its owner acts through `execute` and signs for it (ERC-1271). The hook accepts,
/// reverts, burns all the gas it is given, or re-enters a primed call and records how that
/// call ended before accepting.
contract HostileReceiver is IERC1155Receiver, IERC1271 {
    enum Mode {
        Accept,
        Revert,
        BurnGas,
        Reenter
    }

    error NotOwner();
    error Rejected();

    address public immutable owner;
    Mode public mode;
    bool public reentered;
    bool public reentrySucceeded;
    bytes public reentryResult;

    address private _target;
    bytes private _call;

    constructor(address owner_) {
        owner = owner_;
    }

    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner();
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    function arm(Mode mode_, address target, bytes calldata data) external {
        if (msg.sender != owner) revert NotOwner();
        mode = mode_;
        _target = target;
        _call = data;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        return ECDSA.recover(hash, signature) == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _react();
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _react();
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _react() private {
        if (mode == Mode.Revert) revert Rejected();
        if (mode == Mode.BurnGas) {
            while (true) {}
        }
        if (mode == Mode.Reenter) {
            mode = Mode.Accept;
            reentered = true;
            (reentrySucceeded, reentryResult) = _target.call(_call);
        }
    }
}
