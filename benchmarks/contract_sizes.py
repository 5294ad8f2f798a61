"""Runtime (deployed) code size of every deployable contract under contracts/, beside EIP-170.

EIP-170 refuses to deploy a contract whose runtime code exceeds 24,576 bytes; py-evm and Hardhat
both enforce it. Sizes come from the compiled artifacts (`chain.compiler.load_artifacts`, solc
0.8.28, optimizer at 200 runs), largest first; `headroom_bytes` is the limit minus the size
(negative: the contract cannot be deployed). Contracts under contracts/test/ are test doubles,
never deployed by `deploy_system`, and are marked `test_only`; libraries (`kind` "library")
have only internal functions, inlined into their users, so theirs is solc's stub.

    python benchmarks/contract_sizes.py --json
"""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from chain.compiler import load_artifacts
from chain.config import CONTRACTS_DIR, PROJECT_ROOT

EIP170_LIMIT_BYTES = 24_576


def _sources() -> dict[str, tuple[str, str]]:
    """Each contract's and library's source file, relative to the project root, and its kind."""
    declared = re.compile(r"^\s*(?:abstract\s+)?(contract|library)\s+(\w+)", re.MULTILINE)
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(CONTRACTS_DIR.rglob("*.sol")):
        for kind, name in declared.findall(path.read_text()):
            found[name] = (path.relative_to(PROJECT_ROOT).as_posix(), kind)
    return found


def measure() -> dict[str, Any]:
    sources = _sources()
    rows: list[dict[str, Any]] = []
    for name, compiled in load_artifacts().items():
        source, kind = sources.get(name, ("", "contract"))
        rows.append(
            {
                "contract": name,
                "kind": kind,
                "source": source,
                "runtime_bytes": compiled.runtime_size,
                "headroom_bytes": EIP170_LIMIT_BYTES - compiled.runtime_size,
                "test_only": source.startswith("contracts/test/"),
            }
        )
    rows.sort(key=lambda row: (-int(row["runtime_bytes"]), str(row["contract"])))
    return {"eip170_limit_bytes": EIP170_LIMIT_BYTES, "contracts": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per contract")
    args = parser.parse_args()
    result = measure()
    if args.json:
        for row in result["contracts"]:
            print(json.dumps({**row, "eip170_limit_bytes": result["eip170_limit_bytes"]}))
        return
    print(f"EIP-170 limit: {result['eip170_limit_bytes']:,} bytes")
    for row in result["contracts"]:
        flag = "  (test only)" if row["test_only"] else ""
        flag += "  (library)" if row["kind"] == "library" else ""
        print(
            f"{row['contract']:<28} {row['runtime_bytes']:>7,} bytes  "
            f"headroom {row['headroom_bytes']:>7,}{flag}"
        )


if __name__ == "__main__":
    main()
