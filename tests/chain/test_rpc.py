"""The HTTP transport under the market service's threads: the indexer and the request handlers
send on one kept-alive connection at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chain.rpc import HttpTransport


class _Echo(BaseHTTPRequestHandler):
    """Answers a JSON-RPC request with its own params, a little later, as a busy node does."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a node's
    disable_nagle_algorithm = True  # headers and body go out apart: no 40 ms delayed ACKs

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.001)
        body = json.dumps({"jsonrpc": "2.0", "id": request["id"],
                           "result": request["params"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def node_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_threads_sharing_a_transport_each_get_their_own_answer(node_url: str) -> None:
    transport = HttpTransport(node_url)

    def ask(number: int) -> object:
        return transport.send({"jsonrpc": "2.0", "id": number, "method": "echo",
                               "params": [number]})["result"]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(200)))
    transport.close()
    assert answers == [[number] for number in range(200)]
