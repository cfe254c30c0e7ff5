"""A resident's data rights: a copy of their data, and closing their account (issue #20)."""
