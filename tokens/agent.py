"""A wallet agent, as ssh-agent is for ssh keys: one background process per unlocked wallet
keeps the decrypted key in memory for a while, so signing commands need neither the password
nor scrypt (about a second a decryption).

`start` (called by `rcm wallet unlock`) runs `python -m tokens.agent` as a detached process and
hands it the key through a pipe on its stdin: the key is never in a file, an argument or an
environment variable. The agent listens on the Unix socket `$RCM_HOME/agent/<name>.sock`
(directory 0700, socket 0600) and answers only processes of its own user (SO_PEERCRED, on
Linux). It makes itself undumpable (no core file, no ptrace by the same user), and stops when
its time is up, on a `lock` request, on SIGTERM, SIGINT or SIGHUP, or when its socket is removed
or replaced (then no one could reach it); it removes its socket on the way out.

The protocol is one JSON request a connection, answered by one JSON document, `{"ok": ...}` or
`{"error": "..."}`; ops are `status`, `sign_transaction`, `unsafe_sign_hash` and `lock`. Bytes
travel as 0x-hex, integers as JSON integers.

`account_for(name)` is the client: an `AgentAccount` (a `chain.signer.Signer`) whose signing
methods ask the agent, and whose results equal those of the `LocalAccount` of the same key. The
client imports only the standard library: eth-account (a second to import) is the agent's.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import struct
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from chain.config import rcm_home
from chain.keystore import NAME_PATTERN
from chain.signer import SignedHash, SignedTransaction
from tokens.errors import TokensError

if TYPE_CHECKING:
    import subprocess

    from eth_account.signers.local import LocalAccount

    from chain.signer import Signer

MAX_SECONDS = 24 * 3600
KEY_BYTES = 32
WATCH_SECONDS = 1.0  # how often an idle agent checks its deadline and its socket
CONNECTION_TIMEOUT = 5.0  # a client has this long to send its request
CLIENT_TIMEOUT = 10.0
START_TIMEOUT = 30.0  # the agent imports eth-account before it answers `ready`
MAX_REQUEST = 8 << 20
SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the final NUL

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class AgentError(TokensError):
    """The agent refused a request, or stopped answering."""


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `1h`, `2h30m` (hours, minutes, seconds in this order) -> seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or not text.strip():
        raise TokensError(
            f"expected a duration like 90s, 15m, 1h or 2h30m, got {text!r}", field="duration"
        )
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > MAX_SECONDS:
        raise TokensError(f"at most 24h, got {text.strip()}", field="duration")
    return check_seconds(total)


def check_seconds(seconds: int) -> int:
    if seconds <= 0:
        raise TokensError("must be more than 0", field="duration")
    if seconds > MAX_SECONDS:
        raise TokensError(f"at most 24h, got {seconds} s", field="duration")
    return seconds


def agent_dir() -> Path:
    return rcm_home() / "agent"


def socket_path(name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise TokensError(
            f"{name!r} is not a valid wallet name (letters, digits, _ . -)", field="name"
        )
    return agent_dir() / f"{name}.sock"


def _until_path(name: str) -> Path:
    """When the last unlock of `name` ends, in unix seconds: kept after its agent has gone, so
    that `lock` can tell an unlock that expired from none."""
    return socket_path(name).with_suffix(".until")


def expired_at(name: str) -> int | None:
    """When the last unlock of wallet `name` expired, if it has (None: it has not, or none was
    recorded since the last `lock`)."""
    try:
        until = int(_until_path(name).read_text())
    except (OSError, ValueError):
        return None
    return until if until <= time.time() else None


# --- the agent ----------------------------------------------------------------------------


class Started(NamedTuple):
    address: str
    expires_at: int
    process: subprocess.Popen[bytes]


def start(name: str, account: Signer, seconds: int) -> Started:
    """Hands `account`'s key to a new detached agent for `seconds`; returns once it listens.

    An agent already holding the wallet is stopped first: the new unlock replaces it, its
    duration counted from now (it may shorten the old one)."""
    import subprocess

    from eth_account.signers.local import LocalAccount


    if not isinstance(account, LocalAccount):
        raise TokensError("only an account read from a keystore can be handed to an agent")
    check_seconds(seconds)
    path = socket_path(name).absolute()
    _check_length(path)
    _private_dir(path.parent)
    lock(name)
    # The agent needs no password: it does not inherit RCM_PASSWORD.
    env = {k: v for k, v in os.environ.items() if k != "RCM_PASSWORD"}
    command = [sys.executable, "-m", "tokens.agent", "--socket", str(path), "--seconds",
               str(seconds)]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    assert process.stdin and process.stdout and process.stderr
    try:
        try:
            process.stdin.write(bytes(account.key))
            process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once: its stderr says why
        line = _read_line(process.stdout.fileno(), START_TIMEOUT)
        if not line.startswith("ready "):
            raise AgentError(f"the agent did not start: {_failure(process, line)}")
        info = json.loads(line.removeprefix("ready "))
        if info.get("address") != account.address:
            raise AgentError(f"the agent holds {info.get('address')}, not {account.address}")
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        process.stdout.close()
        process.stderr.close()
    expires_at = int(info["expires_at"])
    _until_path(name).write_text(str(expires_at))
    return Started(account.address, expires_at, process)


def serve(
    key: bytes,
    path: Path,
    seconds: int,
    ready: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Listens on `path` and signs with `key` until the time is up, a `lock`, or the socket is
    removed or replaced. `ready` is called with the status once the socket is in place."""
    from eth_account import Account

    account = Account.from_key(key)
    check_seconds(seconds)
    path = Path(os.path.abspath(path))  # the agent leaves its working directory for /
    expires_at = time.time() + seconds  # wall clock: the promised time, suspended or not
    deadline = time.monotonic() + seconds  # and this, should the wall clock step back
    _check_length(path)
    _private_dir(path.parent)
    info = {"address": account.address, "expires_at": int(expires_at), "pid": os.getpid()}
    # Bound under a private name, then renamed into place: a client never meets a socket that
    # is not yet listening or not yet 0600.
    temp = path.with_name(f".{os.getpid()}-{os.urandom(4).hex()}.tmp")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ident: tuple[int, int] | None = None
    try:
        listener.bind(str(temp))
        os.chmod(temp, 0o600)
        listener.listen(16)
        os.rename(temp, path)
        status = os.lstat(path)
        ident = (status.st_dev, status.st_ino)
        if ready is not None:
            ready(info)
        while True:
            left = min(deadline - time.monotonic(), expires_at - time.time())
            if left <= 0 or not _same_file(path, ident):
                return
            listener.settimeout(min(left, WATCH_SECONDS))
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                request = _receive(connection)
                if request is None:
                    continue
                if request.get("op") == "lock":
                    _remove_if_same(path, ident)
                    _send(connection, {"ok": True})
                    return
                if time.monotonic() >= deadline or time.time() >= expires_at:
                    _send(connection, {"error": "its unlock has expired"})
                    return
                _send(connection, _answer(account, info, request))
    finally:
        # Removed while still bound: the open socket keeps its inode from being reused by a
        # newer agent's socket, which `_remove_if_same` would then take for this one.
        if ident is not None:
            _remove_if_same(path, ident)
        with suppress(FileNotFoundError):
            temp.unlink()
        listener.close()


def _answer(account: LocalAccount, info: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    from eth_typing import Hash32
    from hexbytes import HexBytes

    op = request.get("op")
    try:
        if op == "status":
            return {"ok": info}
        if op == "sign_transaction":
            signed = account.sign_transaction(request["transaction"])
            return {"ok": {"raw_transaction": _hex(signed.raw_transaction),
                           "hash": _hex(signed.hash), "r": signed.r, "s": signed.s,
                           "v": signed.v}}
        if op == "unsafe_sign_hash":
            digest = bytes(HexBytes(request["hash"]))
            if len(digest) != 32:
                raise ValueError(f"a hash is 32 bytes, got {len(digest)}")
            return {"ok": _message(account.unsafe_sign_hash(Hash32(digest)))}
        return {"error": f"unknown op {op!r}"}
    except Exception as exc:
        return {"error": f"{op}: {type(exc).__name__}: {exc}"}


def _message(signed: Any) -> dict[str, Any]:
    return {"message_hash": _hex(signed.message_hash), "r": signed.r, "s": signed.s,
            "v": signed.v, "signature": _hex(signed.signature)}


def main(argv: list[str] | None = None) -> None:
    """`python -m tokens.agent --socket PATH --seconds N`, the key as 32 bytes on stdin.

    Prints one line, `ready {status JSON}` or `error: ...`, then detaches from its output."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tokens.agent")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--seconds", required=True, type=int)
    args = parser.parse_args(argv)
    os.umask(0o077)
    announced = False

    def ready(info: dict[str, Any]) -> None:
        nonlocal announced
        sys.stdout.write(f"ready {json.dumps(info)}\n")
        sys.stdout.flush()
        announced = True
        _to_devnull(1, 2)  # whoever started us stops reading
        os.chdir("/")

    def stop(signum: int, frame: Any) -> None:
        for caught in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(caught, signal.SIG_IGN)  # one stop; the cleanup runs undisturbed
        raise _Stop

    try:
        _no_dumps()
        key = sys.stdin.buffer.read(KEY_BYTES + 1)
        _to_devnull(0)
        if len(key) != KEY_BYTES:
            raise AgentError(f"expected a {KEY_BYTES}-byte key on stdin, got {len(key)} bytes")
        for caught in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(caught, stop)
        serve(key, args.socket, args.seconds, ready)
    except _Stop:
        pass
    except Exception as exc:
        if announced:
            raise
        sys.stdout.write(f"error: {exc}\n")
        sys.stdout.flush()
        sys.exit(1)


class _Stop(BaseException):
    """A stop signal: unwinds `serve`, whose cleanup removes the socket."""


def _no_dumps() -> None:
    """No core file of this process, and on Linux no ptrace or /proc/PID/mem by the same user."""
    import resource

    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_dumpable = 4
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_dumpable, 0, 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_DUMPABLE): {os.strerror(errno)}")


def _to_devnull(*fds: int) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in fds:
        os.dup2(devnull, fd)
    os.close(devnull)


# --- the client ---------------------------------------------------------------------------


def status(name: str) -> dict[str, Any] | None:
    """`{address, expires_at, pid}` of the live agent holding wallet `name`, else None. A socket
    nothing listens on (an agent killed with SIGKILL) is removed."""
    path = socket_path(name)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISSOCK(before.st_mode):
        return None
    try:
        found = _request(path, {"op": "status"})
    except ConnectionRefusedError:
        _remove_if_same(path, (before.st_dev, before.st_ino))
        return None
    except (OSError, ValueError, AgentError):
        return None
    return found if isinstance(found, dict) else None


def account_for(name: str) -> AgentAccount | None:
    """An account that signs through the live agent holding wallet `name`; None without one."""
    from tokens import wallets

    found = status(name)
    if found is None:
        return None
    try:
        if wallets.address_of(name) != found["address"]:
            return None  # the keystore was replaced since the unlock: the agent's key is not it
    except TokensError:
        return None
    return AgentAccount(name, found["address"])


def lock(name: str) -> bool:
    """Stops the agent holding wallet `name`; False when none ran (a stale socket is removed).
    Forgets when its last unlock expired (`expired_at`)."""
    path = socket_path(name)
    with suppress(FileNotFoundError):
        _until_path(name).unlink()
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return False
    try:
        _request(path, {"op": "lock"})
    except (FileNotFoundError, ConnectionRefusedError):
        _remove_if_same(path, (before.st_dev, before.st_ino))
        return False
    except (OSError, ValueError) as exc:
        raise AgentError(f"the agent of {name} did not answer: {exc}") from None
    return True


class AgentAccount:
    """Signs through the agent holding a wallet; results equal the LocalAccount's."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address

    def __repr__(self) -> str:
        return f"AgentAccount({self.name!r}, {self.address})"

    def sign_transaction(self, transaction_dict: Mapping[str, Any]) -> SignedTransaction:
        data = self._ask("sign_transaction", transaction=_jsonable(transaction_dict))
        return SignedTransaction(_bytes(data["raw_transaction"]), _bytes(data["hash"]),
                                 int(data["r"]), int(data["s"]), int(data["v"]))

    def unsafe_sign_hash(self, message_hash: bytes) -> SignedHash:
        data = self._ask("unsafe_sign_hash", hash=_hex(bytes(message_hash)))
        return SignedHash(_bytes(data["message_hash"]), int(data["r"]), int(data["s"]),
                          int(data["v"]), _bytes(data["signature"]))

    def _ask(self, op: str, **arguments: Any) -> Any:
        try:
            return _request(socket_path(self.name), {"op": op, **arguments})
        except AgentError as exc:
            raise AgentError(f"the agent of {self.name}: {exc}") from None
        except (OSError, ValueError) as exc:
            raise AgentError(
                f"the agent of {self.name} stopped answering ({type(exc).__name__}); "
                "unlock the wallet again"
            ) from None


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def _request(path: Path, request: dict[str, Any]) -> Any:
    """One request, one answer. Raises OSError when no agent answers, AgentError when it
    refuses, ValueError on a garbled answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CLIENT_TIMEOUT)
        sock.connect(str(path))
        uid = _peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise AgentError(f"{path} is served by user {uid}, not by you")
        sock.sendall(json.dumps(request).encode())
        sock.shutdown(socket.SHUT_WR)
        data = _read_all(sock)
    reply = json.loads(data) if data else None
    if not isinstance(reply, dict) or not ("ok" in reply or "error" in reply):
        raise ValueError("the agent closed the connection without an answer")
    if "error" in reply:
        raise AgentError(str(reply["error"]))
    return reply["ok"]


# --- shared helpers -----------------------------------------------------------------------


def _receive(connection: socket.socket) -> dict[str, Any] | None:
    """The request of a client of this user, or None (another user, garbage, a timeout)."""
    try:
        uid = _peer_uid(connection)
        if uid is not None and uid != os.getuid():
            return None
        connection.settimeout(CONNECTION_TIMEOUT)
        request = json.loads(_read_all(connection))
    except (OSError, ValueError):
        return None
    return request if isinstance(request, dict) else None


def _send(connection: socket.socket, reply: dict[str, Any]) -> None:
    with suppress(OSError):
        connection.sendall(json.dumps(reply).encode())


def _read_all(sock: socket.socket) -> bytes:
    chunks, size = [], 0
    while chunk := sock.recv(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            raise ValueError(f"more than {MAX_REQUEST} bytes")
    return b"".join(chunks)


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (Linux); None where the OS does not say."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None  # the 0700 directory alone keeps other users out
    credentials = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("iII"))
    _pid, uid, _gid = struct.unpack("iII", credentials)
    return int(uid)


def _read_line(fd: int, timeout: float) -> str:
    """The first line written to `fd` ('' at end of file), waiting at most `timeout` s."""
    import selectors

    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AgentError(f"the agent did not start within {timeout:g} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()


def _failure(process: subprocess.Popen[bytes], line: str) -> str:
    """Why the agent did not start: its `error:` line, else the last line of its stderr."""
    if line.startswith("error: "):
        return line.removeprefix("error: ")
    process.kill()
    process.wait()
    assert process.stderr
    lines = process.stderr.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"it exited with status {process.returncode}"


def _private_dir(directory: Path) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    found = os.lstat(directory)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise AgentError(f"{directory} must be a directory owned by you")
    if stat.S_IMODE(found.st_mode) != 0o700:
        os.chmod(directory, 0o700)


def _check_length(path: Path) -> None:
    longest = path.with_name(f".{'9' * 10}-{'f' * 8}.tmp")  # the name it is bound under first
    if max(len(os.fsencode(path)), len(os.fsencode(longest))) > SUN_PATH_MAX:
        raise AgentError(
            f"the agent's socket path {path} is longer than {SUN_PATH_MAX} bytes; "
            "set RCM_HOME to a shorter directory"
        )


def _same_file(path: Path, ident: tuple[int, int]) -> bool:
    try:
        found = os.lstat(path)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == ident


def _remove_if_same(path: Path, ident: tuple[int, int]) -> None:
    """Removes `path` if it still is the file `ident`, not one a newer agent put there."""
    if _same_file(path, ident):
        with suppress(FileNotFoundError):
            path.unlink()


def _hex(data: bytes | bytearray) -> str:
    return "0x" + bytes(data).hex()


def _jsonable(value: Any) -> Any:
    """A transaction dict as JSON: bytes (HexBytes) as 0x-hex; ints, strings, lists as they are."""
    if isinstance(value, bytes | bytearray):
        return _hex(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} to the agent")


if __name__ == "__main__":
    main()
