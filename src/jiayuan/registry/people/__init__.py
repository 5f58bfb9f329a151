"""People (人): residents, their tags, households and moves."""
