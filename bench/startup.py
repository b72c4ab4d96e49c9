"""Starts a command and prints the milliseconds from its start to GET /readyz answering 200.

Usage: python3 bench/startup.py PORT LOGFILE COMMAND...   (prints "PID MS" on standard output)

The process is started from here and the port polled with raw HTTP every half millisecond, so
the figure is not inflated by spawning a curl per attempt (10 ms or more each on this machine).
The server keeps running; the caller stops it by its pid.
"""

import socket
import subprocess
import sys
import time

port, log = int(sys.argv[1]), sys.argv[2]
command = sys.argv[3:]
request = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
started = time.monotonic()
with open(log, "ab") as out:
    server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
deadline = started + 30
while time.monotonic() < deadline:
    if server.poll() is not None:
        sys.exit(f"the server exited with {server.returncode} before /readyz answered")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                print(server.pid, round((time.monotonic() - started) * 1000, 1))
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.0005)
sys.exit("/readyz did not answer 200 within 30 s")
