#!/usr/bin/env python3
"""Independent Python client for api.stream.v1.EchoService.

Usage: GRPCSTREAM_PY_GEN=<stub dir> echo_client.py ADDR   (ADDR like 127.0.0.1:50051)

Calls all four RPCs over an insecure channel and compares every reply, byte for
byte, with texts it computes itself from the original demo's contract. Prints
one line per RPC, "PASS <rpc>" or "FAIL <rpc>: expected ..., got ...", and
exits 0 only if all four pass.

Stubs are imported from the directory named by GRPCSTREAM_PY_GEN (see
tests/python.rs for the protoc invocation).
"""

import os
import queue
import sys
import time


def load_stubs():
    gen = os.environ.get("GRPCSTREAM_PY_GEN")
    if not gen:
        sys.exit("GRPCSTREAM_PY_GEN is not set: point it at the grpc_tools.protoc output directory")
    sys.path.insert(0, gen)
    from api.stream.v1 import stream_pb2, stream_pb2_grpc

    return stream_pb2, stream_pb2_grpc


pb2, pb2_grpc = load_stubs()
import grpc  # noqa: E402  (after the stubs so a missing GRPCSTREAM_PY_GEN is reported first)

DEADLINE_S = 20
SERVER_STREAM_REPLIES = 5

# Texts that a hand-written Python repr() or a careless encoder gets wrong.
MESSAGES = [
    "hello",
    "it's",  # repr switches to double quotes
    'say "hi"',  # repr keeps single quotes
    "both ' and \"",  # repr escapes the single quote
    "back\\slash",  # repr doubles the backslash
    "café ☕ 🦀",  # printable non-ASCII stays as it is in repr
    "tab\there\nnewline",  # repr escapes control characters
    "zero\u200bwidth",  # not printable (Cf): repr writes \u200b
    "",
]
SERVER_STREAM_MESSAGE = "it's \"é\" \\ 🦀"


class Fail(Exception):
    pass


def show(value):
    # ascii() keeps the report one line, pure ASCII, and shows every code point.
    return ascii(value)


def compare(expected, got):
    if len(got) != len(expected):
        raise Fail(f"expected {len(expected)} replies {show(expected)}, got {len(got)} replies {show(got)}")
    for i, (want, have) in enumerate(zip(expected, got), 1):
        if have.encode("utf-8") != want.encode("utf-8"):
            raise Fail(f"expected {show(want)} as reply {i}, got {show(have)}")


def requests(messages):
    for message in messages:
        yield pb2.EchoRequest(message=message)


def client_stream(stub):
    expected = f"Received {len(MESSAGES)} messages: {MESSAGES}"
    got = stub.EchoClientStream(requests(MESSAGES), timeout=DEADLINE_S).message
    if got.encode("utf-8") != expected.encode("utf-8"):
        at = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
        raise Fail(f"expected {show(expected)}, got {show(got)} (first difference at character {at})")


def server_stream(stub):
    expected = [f"Echo #{i}: {SERVER_STREAM_MESSAGE}" for i in range(1, SERVER_STREAM_REPLIES + 1)]
    replies = stub.EchoServerStream(pb2.EchoRequest(message=SERVER_STREAM_MESSAGE), timeout=DEADLINE_S)
    compare(expected, [reply.message for reply in replies])


def bidi_sync(stub):
    # Lock-step: each request must be answered before the next one is sent, so
    # a server that only answers after half-close fails (by deadline) here.
    outbox = queue.Queue()
    end = object()

    def feed():
        while (message := outbox.get()) is not end:
            yield pb2.EchoRequest(message=message)

    replies = stub.EchoBidirectionalStreamSync(feed(), timeout=DEADLINE_S)
    got = []
    try:
        for message in MESSAGES:
            outbox.put(message)
            reply = next(replies, None)
            if reply is None:
                break
            got.append(reply.message)
    finally:
        outbox.put(end)
    got.extend(reply.message for reply in replies)  # must be none left after half-close
    compare([f"Sync Echo: {m}" for m in MESSAGES], got)


def bidi_async(stub):
    # Send everything and half-close at once; the server's worker needs its
    # delay (200 ms) per message, so every reply must come after the half-close.
    half_closed_at = []

    def feed():
        yield from requests(MESSAGES)
        half_closed_at.append(time.monotonic())  # runs when grpc asks for more: half-close follows

    got, arrived_at = [], []
    for reply in stub.EchoBidirectionalStreamAsync(feed(), timeout=DEADLINE_S):
        arrived_at.append(time.monotonic())
        got.append(reply.message)
    compare([f"Async Echo (processed): {m}" for m in MESSAGES], got)
    early = [m for m, t in zip(got, arrived_at) if not half_closed_at or t < half_closed_at[0]]
    if early:
        raise Fail(f"expected every reply after half-close, got {len(early)} before it, first {show(early[0])}")


RPCS = [
    ("EchoClientStream", client_stream),
    ("EchoServerStream", server_stream),
    ("EchoBidirectionalStreamSync", bidi_sync),
    ("EchoBidirectionalStreamAsync", bidi_async),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} ADDR")
    failed = 0
    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = pb2_grpc.EchoServiceStub(channel)
        for name, check in RPCS:
            try:
                check(stub)
                print(f"PASS {name}", flush=True)
            except Fail as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
            except grpc.RpcError as e:
                failed += 1
                print(f"FAIL {name}: expected OK, got {e.code()}: {show(e.details())}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
