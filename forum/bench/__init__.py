"""Benchmarks, run from the command line on this machine and on loopback only; no part of the
server imports them.

    live     ``forum bench live``: a facilitator's action → the last of N tablets shows it
    vote     ``forum bench vote``: N tablets cast at once; nothing lost or doubled
    harness  what both share: servers in another process, websocket tablets, the demo meeting
"""
