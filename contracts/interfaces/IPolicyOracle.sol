// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {VerdictLib} from "../libraries/VerdictLib.sol";

/// @title k-of-n policy oracle: a verdict moves money only with k distinct registered signers
/// @notice Governance sets the signer set and k (with 2k > n, so two conflicting verdicts can
/// never both reach quorum). Each configuration has a digest binding chain id, this contract,
/// a version, the set and k; verdicts sign it, so one signed under a retired set is void.
interface IPolicyOracle {
    struct Signature {
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    error NotConfigured();
    error InvalidThreshold(uint256 threshold, uint256 signers);
    error TooManySigners(uint256 signers, uint256 max);
    error InvalidSigner(address signer);
    error SignersNotSorted(uint256 index);
    error JobAlreadyOpen(bytes32 jobId);
    error UnknownJob(bytes32 jobId);
    error VerdictAlreadyRecorded(bytes32 jobId);
    error StaleConfig(bytes32 given, bytes32 current);
    error InconsistentVerdict(bool compliant, uint8 fault);
    error BelowThreshold(uint256 signatures, uint256 threshold);
    error MalformedSignature(uint256 index);
    error MalleableSignature(uint256 index);
    error SignersNotAscending(uint256 index);
    error UnknownSigner(uint256 index, address recovered);

    event ConfigSet(bytes32 indexed configDigest, uint64 version, address[] signers, uint8 threshold);
    event JobOpened(bytes32 indexed jobId, address indexed consumer);
    event VerdictAccepted(
        bytes32 indexed jobId, bool compliant, uint8 fault, bytes32 clausesHash, uint256 signerBitmap
    );

    /// @notice Replaces the signer set (strictly ascending addresses, so none twice) and the
    /// threshold. ORACLE_ADMIN_ROLE (governance) only.
    function setConfig(address[] calldata signers, uint8 threshold) external;

    /// @notice Registers the caller as the consumer of `jobId`'s verdict. CONSUMER_ROLE only.
    function openJob(bytes32 jobId) external;

    /// @notice Accepts a verdict signed by at least k distinct signers of the current set,
    /// signatures ordered by ascending signer address, and delivers it to the job's consumer.
    function submitVerdict(VerdictLib.Data calldata verdict, Signature[] calldata signatures) external;

    /// @notice Checks that k distinct signers of the current set, in ascending order, signed
    /// the EIP-712 digest of `structHash` under this contract's domain; reverts otherwise. For
    /// reports other contracts accept on the quorum's word (a round's prices): the struct's
    /// type hash is theirs, and the struct binds `configDigest()`.
    function verifyQuorum(bytes32 structHash, Signature[] calldata signatures)
        external
        view
        returns (uint256 signerBitmap);

    function configDigest() external view returns (bytes32);
    function configVersion() external view returns (uint64);
    function threshold() external view returns (uint8);
    function signers() external view returns (address[] memory);
    function consumerOf(bytes32 jobId) external view returns (address);
    function isDecided(bytes32 jobId) external view returns (bool);

    /// @notice The EIP-712 digest oracle nodes sign for `verdict`.
    function verdictDigest(VerdictLib.Data calldata verdict) external view returns (bytes32);
}
