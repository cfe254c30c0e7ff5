"""The public dashboard: city totals computed by a daily job, as charts and open data."""
