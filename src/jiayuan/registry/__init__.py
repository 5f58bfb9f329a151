"""Registry (人、房、物、组织): people and households, houses, facilities and organizations, each in its grid."""
