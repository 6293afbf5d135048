#!/usr/bin/env python3
"""bench/peers.sh's agent client: N Ed25519 signatures of 64 bytes (the size
of an SSH session hash plus a little) through the agent at SOCKET, each on a
new connection, as each ssh login or ssh-keygen -Y sign opens one. The same
client for kps agent and OpenSSH's ssh-agent, so only the agents differ.

    python3 bench/agent-sign.py SOCKET N
"""
import socket
import struct
import sys


def frame(body):
    return struct.pack(">I", len(body)) + body


def string(b):
    return struct.pack(">I", len(b)) + b


def exchange(sock, body):
    sock.sendall(frame(body))
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            sys.exit("agent-sign: the agent closed the connection")
        head += chunk
    (n,) = struct.unpack(">I", head)
    reply = b""
    while len(reply) < n:
        chunk = sock.recv(n - len(reply))
        if not chunk:
            sys.exit("agent-sign: the agent closed the connection")
        reply += chunk
    return reply


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def first_ed25519_blob(path):
    with connect(path) as s:
        reply = exchange(s, bytes([11]))
    if reply[0] != 12:
        sys.exit("agent-sign: no identities answer")
    (count,) = struct.unpack(">I", reply[1:5])
    off = 5
    for _ in range(count):
        (n,) = struct.unpack(">I", reply[off:off + 4])
        blob = reply[off + 4:off + 4 + n]
        off += 4 + n
        (c,) = struct.unpack(">I", reply[off:off + 4])
        off += 4 + c
        if blob[4:15] == b"ssh-ed25519":
            return blob
    sys.exit("agent-sign: the agent holds no Ed25519 key")


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    request = bytes([13]) + string(first_ed25519_blob(path)) + string(bytes(range(64))) + struct.pack(">I", 0)
    for _ in range(count):
        with connect(path) as s:
            reply = exchange(s, request)
        if reply[0] != 14:
            sys.exit("agent-sign: the agent refused to sign")


if __name__ == "__main__":
    main()
