"""Voluntary-offset filing: batches of verified reductions, their packages, and offset claims."""
