"""The wallet as its holder and the bureau see it: its history described (a read model over the
ledger, reductions, methodologies and merchants), the wallet pages and API, and the bureau's
ledger tools."""
