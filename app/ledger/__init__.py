"""The points ledger: wallets, double-entry transactions, issuance, expiry (see services.py)."""
