#!/usr/bin/env python3
"""Independent Python implementation of api.stream.v1.EchoService.

It reproduces the original demo's texts and timings with plain grpcio, so the
Rust probe can be checked against a server it shares no code with:

  EchoClientStream             one reply: f"Received {len(msgs)} messages: {msgs}"
  EchoServerStream             "Echo #i: <message>" for i = 1..5, 100 ms apart
  EchoBidirectionalStreamSync  "Sync Echo: <message>" at once for each request
  EchoBidirectionalStreamAsync requests queue up (capacity 10); a worker sleeps
                               200 ms per message, then replies
                               "Async Echo (processed): <message>", and drains
                               the queue after the client half-closes

Stubs are imported from the directory named by GRPCSTREAM_PY_GEN (see
tests/python.rs for the protoc invocation). Binds 127.0.0.1:0 unless --port is
given, prints "LISTENING <port>" once bound, and stops on SIGTERM or SIGINT.

--wrong-text makes server-stream replies read "Echo #i:<message>" (no space)
so that tests can check that a probe notices a deviating text.
"""

import argparse
import os
import queue
import signal
import sys
import threading
import time
from concurrent import futures


def load_stubs():
    gen = os.environ.get("GRPCSTREAM_PY_GEN")
    if not gen:
        sys.exit("GRPCSTREAM_PY_GEN is not set: point it at the grpc_tools.protoc output directory")
    sys.path.insert(0, gen)
    from api.stream.v1 import stream_pb2, stream_pb2_grpc

    return stream_pb2, stream_pb2_grpc


pb2, pb2_grpc = load_stubs()
import grpc  # noqa: E402  (after the stubs so a missing GRPCSTREAM_PY_GEN is reported first)

ASYNC_QUEUE_CAPACITY = 10
# How often blocked queue operations look whether the RPC is still alive.
POLL_S = 0.1


class EchoService(pb2_grpc.EchoServiceServicer):
    def __init__(self, count, interval_s, async_delay_s, wrong_text, go_summary):
        self.count = count
        self.interval_s = interval_s
        self.async_delay_s = async_delay_s
        self.separator = ":" if wrong_text else ": "
        self.go_summary = go_summary

    def EchoClientStream(self, request_iterator, context):
        msgs = [request.message for request in request_iterator]
        if self.go_summary:
            # The original Go server's fmt %v of a []string: "[a b c]".
            return pb2.EchoResponse(message=f"Received {len(msgs)} messages: [{' '.join(msgs)}]")
        return pb2.EchoResponse(message=f"Received {len(msgs)} messages: {msgs}")

    def EchoServerStream(self, request, context):
        for i in range(1, self.count + 1):
            if i > 1:
                time.sleep(self.interval_s)
            if not context.is_active():
                return
            yield pb2.EchoResponse(message=f"Echo #{i}{self.separator}{request.message}")

    def EchoBidirectionalStreamSync(self, request_iterator, context):
        for request in request_iterator:
            yield pb2.EchoResponse(message=f"Sync Echo: {request.message}")

    def EchoBidirectionalStreamAsync(self, request_iterator, context):
        # A reader thread fills the bounded queue (blocking when it is full, so
        # the client is back-pressured); this generator is the worker.
        pending = queue.Queue(maxsize=ASYNC_QUEUE_CAPACITY)
        done = object()

        def read():
            try:
                for request in request_iterator:
                    while context.is_active():
                        try:
                            pending.put(request.message, timeout=POLL_S)
                            break
                        except queue.Full:
                            pass
                    else:
                        return
            except Exception:  # cancelled or broken stream: the worker stops too
                pass
            finally:
                # The queue may be full; the worker polls is_active() meanwhile.
                while context.is_active():
                    try:
                        pending.put(done, timeout=POLL_S)
                        break
                    except queue.Full:
                        pass

        threading.Thread(target=read, name="async-reader", daemon=True).start()
        while context.is_active():
            try:
                message = pending.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if message is done:
                return
            time.sleep(self.async_delay_s)
            yield pb2.EchoResponse(message=f"Async Echo (processed): {message}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--server-stream-count", type=int, default=5)
    parser.add_argument("--server-stream-interval-ms", type=int, default=100)
    parser.add_argument("--async-delay-ms", type=int, default=200)
    parser.add_argument("--wrong-text", action="store_true", help='server stream says "Echo #i:<message>"')
    parser.add_argument("--go-summary", action="store_true", help='client stream summary in the Go server\'s "[a b]" form')
    args = parser.parse_args()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    pb2_grpc.add_EchoServiceServicer_to_server(
        EchoService(
            args.server_stream_count,
            args.server_stream_interval_ms / 1000,
            args.async_delay_ms / 1000,
            args.wrong_text,
            args.go_summary,
        ),
        server,
    )
    try:
        port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    except RuntimeError as e:  # recent grpcio raises, older ones return 0
        sys.exit(f"cannot bind 127.0.0.1:{args.port}: {e}")
    if port == 0:
        sys.exit(f"cannot bind 127.0.0.1:{args.port}")
    server.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"LISTENING {port}", flush=True)
    stop.wait()
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
