"""Places (地、物、组织): compounds, buildings, rooms, facilities and organizations, each in a grid."""
