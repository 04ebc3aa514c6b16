"""Servers the tests start on 127.0.0.1 stop at once when told to.

The suite starts and stops hundreds of them: uvicorn looks at `should_exit` every 0.1 s and
then waits a fixed 0.1 s for connections to close, and `http.server` looks at its shutdown flag
every 0.5 s; each of those waits was paid again at the end of every test that used a server.
"""

from __future__ import annotations

import asyncio
import socket
import time
from http.server import HTTPServer

import uvicorn

# how often a server looks whether it was told to stop: short, and the wake-ups cost nothing
POLL_SECONDS = 0.01


def serve_forever(server: HTTPServer) -> None:
    """`server.serve_forever()`, noticing `server.shutdown()` within POLL_SECONDS."""
    server.serve_forever(poll_interval=POLL_SECONDS)


class PromptServer(uvicorn.Server):
    """A uvicorn server that stops within POLL_SECONDS of `should_exit`, once the connections
    it closes are gone and the requests under way are answered (as uvicorn's own shutdown,
    without its fixed waits)."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            # on_tick refreshes the Date header every tenth tick: every 0.1 s here
            counter = (counter + 1) % 864000
            await asyncio.sleep(POLL_SECONDS)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 5)
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            if time.monotonic() > deadline:
                for task in self.server_state.tasks:
                    task.cancel(msg="Task cancelled, the test server is stopping")
                break
            await asyncio.sleep(POLL_SECONDS / 2)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()
