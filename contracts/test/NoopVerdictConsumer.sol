// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPolicyOracle} from "../interfaces/IPolicyOracle.sol";
import {IVerdictConsumer} from "../interfaces/IVerdictConsumer.sol";

/// @title TEST-ONLY consumer that does nothing: isolates the quorum check's gas in benchmarks
contract NoopVerdictConsumer is IVerdictConsumer {
    IPolicyOracle public immutable oracle;

    constructor(IPolicyOracle oracle_) {
        oracle = oracle_;
    }

    function open(bytes32 jobId) external {
        oracle.openJob(jobId);
    }

    function onVerdict(bytes32, bool, uint8, bytes32) external {}
}
