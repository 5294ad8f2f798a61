"""Gas of a k-of-7 verdict on the embedded chain, one JSON line per k = 4..7.

`gas_quorum` is submitVerdict delivered to a do-nothing consumer (checks and signatures
only); the per-signer cost is its slope in k. A verdict the clearing house enforces (payment
credited, stake released, bond, ε and two reputation audits) is measured with its round, in
benchmarks/settlement_gas.py (`gas_verdict_per_job`).

    python benchmarks/verdict_gas.py --json
"""

from __future__ import annotations

import argparse
import itertools
import json

from eth_account import Account

from chain.connection import connect
from chain.deploy import deploy_system
from chain.policy_oracle import register, submit
from chain.verdict import Fault, Verdict, sign_verdict, verdict_domain

N = 7


def measure() -> list[dict[str, int]]:
    chain = connect()
    governance = chain.dev_account(0)
    system = deploy_system(chain, governance)
    nodes = [Account.from_key(bytes([0x40 + i]) * 32) for i in range(N)]
    noop = chain.deploy("NoopVerdictConsumer", governance, system.oracle.address)
    consumer_role = system.oracle.functions.CONSUMER_ROLE().call()
    chain.send(system.oracle.functions.grantRole(consumer_role, noop.address), governance)
    domain = verdict_domain(chain.chain_id, system.oracle.address)

    def verdict_gas(k: int, job: bytes, digest: bytes) -> int:
        verdict = Verdict(job, True, Fault.NONE, bytes(32), digest)
        signatures = [(n.address, sign_verdict(n, domain, verdict)) for n in nodes[:k]]
        return int(submit(system, governance, verdict, signatures).gas_used)

    rows = []
    for k in range(4, N + 1):
        digest = register(system, governance, [n.address for n in nodes], k)
        job = bytes([k]) + bytes(31)
        chain.send(noop.functions.open(job), governance)
        rows.append({"k": k, "n": N, "gas_quorum": verdict_gas(k, job, digest)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    rows = measure()
    for row in rows:
        print(json.dumps(row) if args.json else row)
    slopes = [b["gas_quorum"] - a["gas_quorum"] for a, b in itertools.pairwise(rows)]
    print(json.dumps({"gas_per_extra_signer": slopes}) if args.json else slopes)


if __name__ == "__main__":
    main()
