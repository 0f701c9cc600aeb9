"""One module per group of pages; app.py holds the routing table."""
