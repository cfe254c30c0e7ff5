"""Redemption: QR tokens residents show, confirmations at the counter, reversals, settlement."""
