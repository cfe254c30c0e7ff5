"""Financial partners: banks a resident or organisation lets read their carbon record (OAuth 2.0),
and the signed carbon statements anyone can verify."""
