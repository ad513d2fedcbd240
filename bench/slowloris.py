# 200 connections that never finish their headers, against a node on PORT: the latency of
# well-behaved pings before and meanwhile, and when the slow ones are closed.
# Usage: python3 bench/slowloris.py PORT   (a node started with `switchyard serve --bind 127.0.0.1:PORT`)
import socket, time, subprocess, sys, statistics
port = int(sys.argv[1])
def ping_ms():
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    s.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    data = b""
    while True:
        c = s.recv(4096)
        if not c: break
        data += c
    s.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:40]
    return (time.perf_counter() - t) * 1000
base = [ping_ms() for _ in range(200)]
slow = []
for _ in range(200):
    c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); slow.append(c)
t0 = time.perf_counter()
under = [ping_ms() for _ in range(200)]
closed = 0
for c in slow:
    c.settimeout(15)
    try:
        while c.recv(4096): pass
    except Exception: pass
    closed += 1
print("pings alone p50 %.2f ms max %.2f ms; with 200 slowloris p50 %.2f ms max %.2f ms; %d/200 slow connections closed after %.1f s" % (statistics.median(base), max(base), statistics.median(under), max(under), closed, time.perf_counter()-t0))
