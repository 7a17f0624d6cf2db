#!/usr/bin/env python3
"""mkmsg.py - write a large test message with CRLF line ends.

    mkmsg.py SIZE_BYTES OUT

Headers, then lines of printable text (deterministic pseudo-random), some
starting with "." (to exercise dot-stuffing), until OUT is SIZE_BYTES long
(give or take one line).
"""
import random
import sys

size, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(20)
alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ "
with open(out, "wb") as f:
    hdr = ("From: big@client.example.net\r\nTo: user@example.test\r\n"
           "Subject: a large message\r\nMessage-ID: <big@client.example.net>"
           "\r\n\r\n").encode()
    f.write(hdr)
    n = len(hdr)
    pool = ["".join(rnd.choice(alpha) for _ in range(66))
            for _ in range(997)]
    i = 0
    block = []
    while n < size:
        i += 1
        line = "%08d " % i + pool[i % 997]
        if i % 1000 == 0:
            line = "." + line
        if i % 5000 == 0:
            line = "."
        b = (line + "\r\n").encode()
        block.append(b)
        n += len(b)
        if len(block) >= 4096:
            f.write(b"".join(block))
            block = []
    f.write(b"".join(block))
