#!/usr/bin/env python3
"""Counts the round trips of PostgreSQL clients (bench/team.sh).

    team-relay.py SERVER_PORT PORT_FILE OUT_FILE

Listens on 127.0.0.1 at a free port (written to PORT_FILE) and relays each
connection to 127.0.0.1:SERVER_PORT. A round trip is the client speaking
(after the server, or first) and the server answering: each turn of the
conversation from client to server that gets a reply. A message the
server does not answer (Terminate at the end) is not one; neither is the
TCP handshake. For each connection, when it closes, appends to OUT_FILE:
"ROUND_TRIPS BYTES_TO_SERVER BYTES_TO_CLIENT". Runs until killed.
"""

import os
import select
import socket
import sys
import threading


def relay(client, server_port, out_file, lock):
    server = socket.create_connection(("127.0.0.1", server_port))
    round_trips = 0
    last = None  # who spoke last: "client" or "server"
    sent = received = 0
    try:
        while True:
            ready, _, _ = select.select([client, server], [], [])
            done = False
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    done = True
                    break
                if sock is client:
                    last = "client"
                    sent += len(data)
                    server.sendall(data)
                else:
                    if last == "client":
                        round_trips += 1
                    last = "server"
                    received += len(data)
                    client.sendall(data)
            if done:
                break
    finally:
        client.close()
        server.close()
        with lock, open(out_file, "a") as f:
            f.write(f"{round_trips} {sent} {received}\n")


def main():
    server_port, port_file, out_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{listener.getsockname()[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    lock = threading.Lock()
    while True:
        client, _ = listener.accept()
        threading.Thread(
            target=relay, args=(client, server_port, out_file, lock), daemon=True
        ).start()


if __name__ == "__main__":
    main()
