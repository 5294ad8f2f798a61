// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IPolicyOracle} from "./interfaces/IPolicyOracle.sol";
import {IVerdictConsumer} from "./interfaces/IVerdictConsumer.sol";
import {AddressSetCode} from "./libraries/AddressSetCode.sol";
import {VerdictLib} from "./libraries/VerdictLib.sol";

/// @title k-of-n policy oracle, checked the Chainlink OCR way
contract PolicyOracle is IPolicyOracle, AccessControl, EIP712, ReentrancyGuard {
    bytes32 public constant ORACLE_ADMIN_ROLE = keccak256("ORACLE_ADMIN_ROLE");
    /// @dev Contracts that open jobs and act on their verdicts (the stake enforcer, the
    /// clearing house).
    bytes32 public constant CONSUMER_ROLE = keccak256("CONSUMER_ROLE");

    /// @dev Signer indices live in a uint256 bitmap.
    uint256 private constant MAX_SIGNERS = 32;

    struct Job {
        address consumer;
        bool decided;
    }

    bytes32 private _configDigest;
    /// @dev The signer set, ascending, stored as code (AddressSetCode).
    address private _signerSet;
    uint64 private _configVersion;
    uint8 private _threshold;
    mapping(bytes32 jobId => Job) private _jobs;

    constructor(address governance) EIP712("rcm PolicyOracle", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(ORACLE_ADMIN_ROLE, governance);
    }

    function setConfig(address[] calldata signers_, uint8 threshold_) external onlyRole(ORACLE_ADMIN_ROLE) {
        uint256 n = signers_.length;
        if (n > MAX_SIGNERS) revert TooManySigners(n, MAX_SIGNERS);
        // 2k > n: two disjoint quorums would need more than n signers, so two conflicting
        // verdicts can never both be accepted.
        if (threshold_ == 0 || threshold_ > n || 2 * uint256(threshold_) <= n) {
            revert InvalidThreshold(threshold_, n);
        }
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            if (signers_[i] == address(0)) revert InvalidSigner(address(0));
            if (signers_[i] <= previous) revert SignersNotSorted(i);
            previous = signers_[i];
        }
        _signerSet = AddressSetCode.write(signers_);
        _threshold = threshold_;
        uint64 version = ++_configVersion;
        _configDigest = keccak256(abi.encode(block.chainid, address(this), version, signers_, threshold_));
        emit ConfigSet(_configDigest, version, signers_, threshold_);
    }

    function openJob(bytes32 jobId) external onlyRole(CONSUMER_ROLE) {
        if (_jobs[jobId].consumer != address(0)) revert JobAlreadyOpen(jobId);
        _jobs[jobId].consumer = msg.sender;
        emit JobOpened(jobId, msg.sender);
    }

    function submitVerdict(VerdictLib.Data calldata verdict, Signature[] calldata signatures)
        external
        nonReentrant
    {
        Job storage job = _checkJob(verdict);
        uint256 signerBitmap = _verifyQuorum(_hashTypedDataV4(VerdictLib.hash(verdict)), signatures);
        job.decided = true;
        emit VerdictAccepted(verdict.jobId, verdict.compliant, verdict.fault, verdict.clausesHash, signerBitmap);
        IVerdictConsumer(job.consumer).onVerdict(
            verdict.jobId, verdict.compliant, verdict.fault, verdict.clausesHash
        );
    }

    function _checkJob(VerdictLib.Data calldata verdict) private view returns (Job storage job) {
        job = _jobs[verdict.jobId];
        if (job.consumer == address(0)) revert UnknownJob(verdict.jobId);
        if (job.decided) revert VerdictAlreadyRecorded(verdict.jobId);
        if (verdict.configDigest != _configDigest) revert StaleConfig(verdict.configDigest, _configDigest);
        bool faultless = verdict.fault == VerdictLib.FAULT_NONE;
        if (verdict.compliant != faultless || verdict.fault > VerdictLib.FAULT_PROVIDER) {
            revert InconsistentVerdict(verdict.compliant, verdict.fault);
        }
    }

    /// @dev Signatures come ordered by strictly ascending signer address, so one signer can't
    /// count twice, and the set is ascending too: one merge pass matches them. ECDSA.tryRecover
    /// refuses high-s (malleable) signatures.
    function _verifyQuorum(bytes32 digest, Signature[] calldata signatures) private view returns (uint256 signerBitmap) {
        uint256 threshold_ = _threshold;
        if (threshold_ == 0) revert NotConfigured();
        if (signatures.length < threshold_) revert BelowThreshold(signatures.length, threshold_);
        address[] memory set = AddressSetCode.read(_signerSet);
        address previous = address(0);
        uint256 j = 0;
        for (uint256 i = 0; i < signatures.length; ++i) {
            Signature calldata signature = signatures[i];
            (address signer, ECDSA.RecoverError error,) =
                ECDSA.tryRecover(digest, signature.v, signature.r, signature.s);
            if (error == ECDSA.RecoverError.InvalidSignatureS) revert MalleableSignature(i);
            if (error != ECDSA.RecoverError.NoError) revert MalformedSignature(i);
            if (signer <= previous) revert SignersNotAscending(i);
            while (j < set.length && set[j] < signer) ++j;
            if (j == set.length || set[j] != signer) revert UnknownSigner(i, signer);
            signerBitmap |= 1 << j;
            previous = signer;
        }
    }

    function verifyQuorum(bytes32 structHash, Signature[] calldata signatures)
        external
        view
        returns (uint256 signerBitmap)
    {
        return _verifyQuorum(_hashTypedDataV4(structHash), signatures);
    }

    function configDigest() external view returns (bytes32) {
        return _configDigest;
    }

    function configVersion() external view returns (uint64) {
        return _configVersion;
    }

    function threshold() external view returns (uint8) {
        return _threshold;
    }

    function signers() external view returns (address[] memory) {
        return AddressSetCode.read(_signerSet);
    }

    function consumerOf(bytes32 jobId) external view returns (address) {
        return _jobs[jobId].consumer;
    }

    function isDecided(bytes32 jobId) external view returns (bool) {
        return _jobs[jobId].decided;
    }

    function verdictDigest(VerdictLib.Data calldata verdict) external view returns (bytes32) {
        return _hashTypedDataV4(VerdictLib.hash(verdict));
    }
}
