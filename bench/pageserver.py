"""A small, fast keep-alive HTTP server for benchmarks: N pages with ETag/Last-Modified and 304s.

Run as a separate process so the server does not share the poller's interpreter lock:
    python bench/pageserver.py N [--no-validators]   → prints the port, then serves until stdin closes.
POST /_bump?n=K changes the first K pages; /_stats returns request counts.
"""

from __future__ import annotations

import asyncio
import sys
from email.utils import formatdate

BODY = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Page {i}</title>"
    "<script>var t = Math.random();</script></head><body><nav>Partner Center · Home</nav>"
    "<main><h1>Notice {i}</h1><p>Version {v} of this notice.</p>"
    "<table><tr><th>Item</th><th>Value</th></tr>"
    + "".join(f"<tr><td>Row {r}</td><td>Value {r} for page {{i}}</td></tr>" for r in range(20))
    + "</table><p>Last refreshed {s} seconds ago</p></main></body></html>"
)


class Pages:
    def __init__(self, n: int, validators: bool = True) -> None:
        self.validators = validators  # False: no ETag/Last-Modified and a static body, like many portal pages
        self.versions = [1] * n
        self.hits = 0
        self.not_modified = 0

    def etag(self, i: int) -> str:
        return f'"p{i}-v{self.versions[i]}"'

    def last_modified(self, i: int) -> str:
        return formatdate(1_790_000_000 + self.versions[i] * 60, usegmt=True)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pages: Pages) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if int(headers.get("content-length", "0") or 0):
                await reader.readexactly(int(headers["content-length"]))
            pages.hits += 1
            status, extra, body = "200 OK", "", b""
            if method == "POST" and target.startswith("/_bump"):
                n = int(target.split("n=")[1]) if "n=" in target else 1
                for i in range(min(n, len(pages.versions))):
                    pages.versions[i] += 1
                body = b"bumped"
            elif target == "/_stats":
                body = f"{pages.hits} {pages.not_modified}".encode()
            elif target.startswith("/p/"):
                i = int(target[3:].split(".")[0])
                etag = pages.etag(i)
                if not pages.validators:
                    body = BODY.format(i=i, v=pages.versions[i], s=0).encode()
                    extra = "Content-Type: text/html; charset=utf-8\r\n"
                elif headers.get("if-none-match") == etag:
                    pages.not_modified += 1
                    status, extra = "304 Not Modified", f"ETag: {etag}\r\n"
                else:
                    body = BODY.format(i=i, v=pages.versions[i], s=pages.hits % 60).encode()
                    extra = (
                        f"ETag: {etag}\r\nLast-Modified: {pages.last_modified(i)}\r\n"
                        "Content-Type: text/html; charset=utf-8\r\n"
                    )
            else:
                status, body = "404 Not Found", b"not found"
            writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, ValueError):
        pass
    finally:
        writer.close()


async def main(n: int, validators: bool) -> None:
    pages = Pages(n, validators)
    server = await asyncio.start_server(lambda r, w: handle(r, w, pages), "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # serve until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, "--no-validators" not in sys.argv))
