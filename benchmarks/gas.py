"""Gas per Foundation operation on the embedded chain (py-evm), one JSON line per operation.

python benchmarks/gas.py --json
"""

from __future__ import annotations

import argparse
import json

from eth_account import Account

from chain.connection import connect
from chain.deploy import deploy_system

CST = 10**18
MILLI_CST = 10**15


def measure() -> list[dict[str, object]]:
    chain = connect()
    governance = chain.dev_account(0)
    system = deploy_system(chain, governance)
    cst, vault = system.cst.functions, system.vault.functions
    holder, other = chain.dev_account(1), chain.dev_account(2)
    # Governance stands in for the clearing house, which holds both.
    for name in ("CLEARING_ROLE", "ORACLE_ROLE"):
        role = getattr(vault, name)().call()
        chain.send(vault.grantRole(role, governance.address), governance)
    for account in (holder, other):
        chain.send(cst.mint(account.address, 10_000 * CST), governance)
        chain.send(cst.approve(system.vault.address, 2**256 - 1), account)

    def gas(call: object, sender: object = holder) -> int:
        return int(chain.send(call, sender).gas_used)  # type: ignore[arg-type]

    rows: list[dict[str, object]] = [
        {"op": "transfer", "gas": gas(cst.transfer(other.address, CST))},
        {"op": "transfer_to_new_holder", "gas": gas(cst.transfer(Account.create().address, CST))},
        {"op": "stake_first", "gas": gas(vault.stake(1_000 * CST))},
        {"op": "stake", "gas": gas(vault.stake(1_000 * CST))},
        {"op": "bond", "gas": gas(vault.bond(100 * CST))},
        {"op": "unbond", "gas": gas(vault.unbond(10 * CST))},
    ]
    # An account lock, as a bid's commit takes it: all of 1 USD at risk, 1 CST.
    lock_stake = vault.lockStake(holder.address, 10_000, 1_000_000, MILLI_CST)
    rows.append({"op": "lock_stake", "gas": gas(lock_stake, governance)})
    release_stake = vault.releaseStake(holder.address, CST)
    rows.append({"op": "release_stake", "gas": gas(release_stake, governance)})
    slash_stake = vault.slashStake(holder.address, CST)
    # The deployment's first burn also makes the burned-supply counter non-zero (17k more).
    for _ in range(2):
        chain.send(lock_stake, governance)
    chain.send(slash_stake, governance)
    rows.append({"op": "slash_stake", "gas": gas(slash_stake, governance)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    for row in measure():
        print(json.dumps(row) if args.json else f"{row['op']:<24}{row['gas']:>8}")


if __name__ == "__main__":
    main()
