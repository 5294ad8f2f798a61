// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPolicyOracle} from "../interfaces/IPolicyOracle.sol";
import {IVerdictConsumer} from "../interfaces/IVerdictConsumer.sol";
import {VerdictLib} from "../libraries/VerdictLib.sol";

/// @title TEST-ONLY consumer: records what it was delivered; optionally re-enters the oracle
/// with a verdict and signatures it was primed with (a reentrancy attack through the callback).
contract RecordingVerdictConsumer is IVerdictConsumer {
    IPolicyOracle public immutable oracle;
    uint256 public deliveries;
    bytes32 public lastJobId;
    bool public lastCompliant;
    uint8 public lastFault;

    bool private _reenter;
    VerdictLib.Data private _replay;
    IPolicyOracle.Signature[] private _replaySignatures;

    constructor(IPolicyOracle oracle_) {
        oracle = oracle_;
    }

    function open(bytes32 jobId) external {
        oracle.openJob(jobId);
    }

    function primeReentry(VerdictLib.Data calldata verdict, IPolicyOracle.Signature[] calldata signatures)
        external
    {
        _reenter = true;
        _replay = verdict;
        delete _replaySignatures;
        for (uint256 i = 0; i < signatures.length; ++i) {
            _replaySignatures.push(signatures[i]);
        }
    }

    function onVerdict(bytes32 jobId, bool compliant, uint8 fault, bytes32) external {
        ++deliveries;
        lastJobId = jobId;
        lastCompliant = compliant;
        lastFault = fault;
        if (_reenter) {
            _reenter = false;
            oracle.submitVerdict(_replay, _replaySignatures);
        }
    }
}
