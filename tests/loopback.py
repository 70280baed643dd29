"""The HTTP server the fake model and GitHub servers of the tests run on."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that takes a burst of connections as a real one does.

    socketserver listens with a backlog of 5: eight requests opened at once (a run's concurrency) overflow it,
    and the kernel drops the connections over, which the client's TCP retries a second later. A run would
    then look a second slower than it is.
    """

    request_queue_size = 128
    daemon_threads = True
