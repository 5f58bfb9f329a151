"""Building blocks with no domain knowledge: database, errors, scope, i18n, jobs."""
