"""Benchmarks, run from the command line on this machine and on loopback only; no part of the
server imports them.

    live     ``forum bench live``: a facilitator's action → the last of N tablets shows it
    vote     ``forum bench vote``: N tablets cast at once; nothing lost or doubled
    meetings ``forum bench meetings``: many meetings live at once, each facilitator acting
    harness  what they share: where forum runs (SQLite or PostgreSQL, one process or N workers
             sharing Redis), servers in other processes, websocket tablets, the demo meeting
"""
