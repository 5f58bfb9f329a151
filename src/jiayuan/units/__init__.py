"""Units: the district → street → community → grid hierarchy, grid polygons and responsible workers."""
