"""indexes measured by make bench: name search over millions of people, case metrics from the index alone

- people: every arm of the name search's OR has an index (the name from its 1st, 2nd and 3rd character, names
  longer than three, pinyin initials, the room); on PostgreSQL with pattern operator classes, so that LIKE 'q%' uses them
  whatever the collation; and statistics of the names' length, without which the planner misjudges the arm of
  long names and reads the whole district instead.
- cases (PostgreSQL): ix_cases_district_code_reported_at carries the metrics' columns (INCLUDE), so that a
  district's figures are read from the index rather than from pages shared with every other district.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# cases/models.py METRICS_COLUMNS, as they were when this revision was written.
INCLUDE = ("origin_code, status, registered_at, handled_at, due_at, handled_on_time, closed_on_time, rework_count, "
           "rating, response_hours, handling_hours, department, assignee_id")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    text_ops, varchar_ops = (" text_pattern_ops", " varchar_pattern_ops") if pg else ("", "")
    if pg:
        op.execute("DROP INDEX ix_people_district_code_name")
        op.execute(f"CREATE INDEX ix_people_district_code_name ON people (district_code, name{varchar_ops})")
        op.execute("DROP INDEX ix_people_district_code_name_initials")
        op.execute("CREATE INDEX ix_people_district_code_name_initials ON people "
                   f"(district_code, name_initials{varchar_ops})")
        op.execute("DROP INDEX ix_cases_district_code_reported_at")
        op.execute(f"CREATE INDEX ix_cases_district_code_reported_at ON cases (district_code, reported_at) "
                   f"INCLUDE ({INCLUDE})")
    op.execute(f"CREATE INDEX ix_people_name_from_2 ON people (district_code, substr(name, 2){text_ops})")
    op.execute(f"CREATE INDEX ix_people_name_from_3 ON people (district_code, substr(name, 3){text_ops})")
    op.execute("CREATE INDEX ix_people_long_names ON people (district_code, name) WHERE length(name) > 3")
    op.execute("CREATE INDEX ix_people_district_code_room_id ON people (district_code, room_id)")
    if pg and op.get_bind().dialect.server_version_info >= (14,):
        # How many names are longer than three, for the planner (PostgreSQL 14+ keeps statistics of expressions):
        # without them it guesses a third of the district, and reads it instead of combining the indexes.
        op.execute("CREATE STATISTICS people_name_length ON (length(name)) FROM people")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS people_name_length")
    for name in ("ix_people_district_code_room_id", "ix_people_long_names", "ix_people_name_from_3",
                 "ix_people_name_from_2"):
        op.execute(f"DROP INDEX {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_cases_district_code_reported_at")
        op.execute("CREATE INDEX ix_cases_district_code_reported_at ON cases (district_code, reported_at)")
        op.execute("DROP INDEX ix_people_district_code_name_initials")
        op.execute("CREATE INDEX ix_people_district_code_name_initials ON people (district_code, name_initials)")
        op.execute("DROP INDEX ix_people_district_code_name")
        op.execute("CREATE INDEX ix_people_district_code_name ON people (district_code, name)")
