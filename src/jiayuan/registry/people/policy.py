"""Who may see and do what with people's records: scope filters, what of a person each role sees, unmasking, exact
look-ups, the administrator's acts.

What each role sees of a person (docs/security.md, "What each role sees of a person"):

- The registry is read by unit staff only (registry/policy.py: grid workers, community, street and district staff),
  each within their units; the hotline, departments, providers, volunteers and residents never read it.
- Every list, search result, person page and API read shape, and every masked export, shows a person's name, sex,
  age (completed years) and year of birth, the ID number masked to its first two characters and its check character
  (`36***************X`), the phone masked to its last four digits (`*******5678`). Never the full birth date: it
  is the 7th to 14th characters of the ID number, and with the sex and the place of birth it leaves a handful of
  candidates for a masked number. The place code (3rd–6th) is hidden for the same reason.
- The full ID number, phone and birth date are shown only in an unmasked view — one person's (POST …/unmask) or a
  list's (an unmasked export) — to the roles in UNMASKERS, for a reason that is a real sentence
  (kit.text.meaningful_reason), each view audited (`person_unmasked`, `registry_exported_unmasked`); a refusal too
  (`unmask_refused`, `export_unmask_refused`).
- Care workers see the people in care of their units with age and masked phone (care/*); service projects show the
  masked ID number of their enrolled people; the charity counter a household card (head's name, address, size).
- Finding a person by their exact ID number or phone confirms a guess: it is an audited act with a reason, and
  look-ups (and registrations refused because the number is held elsewhere in the district) that find no one are
  counted per account (registry/people/lookups.py).
- Everything held about one person, unmasked, goes out only to the district's administrator (a data-subject
  request, `person_exported`), who alone may also anonymize a person.
"""

from __future__ import annotations

from typing import Any

from jiayuan.accounts.roles import DISTRICT_ADMINS, SUPERVISORS
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden
from jiayuan.registry.models import Person

# Seeing a whole ID number, phone or birth date: supervisors of units, not grid workers nor the hotline.
UNMASKERS = SUPERVISORS
# Exporting everything held on a person and anonymizing them: the district's administrator alone.
ADMINISTRATORS = DISTRICT_ADMINS
# The fields of a person that only an unmasked view holds whole.
UNMASKED_FIELDS = ("id_number", "phone", "birth_date")


def visible(principal: Principal, model: Any = Person) -> Any:
    """The people (or their tags, households, moves) the caller may see: those of the units in their scope."""
    return principal.scope.where(model)


def may_unmask(principal: Principal) -> bool:
    return principal.role in UNMASKERS


def require_unmasker(principal: Principal) -> None:
    if not may_unmask(principal):
        raise Forbidden("your role may not see unmasked personal data", field="role")


def may_administer(principal: Principal) -> bool:
    return principal.role in ADMINISTRATORS


def require_administrator(principal: Principal) -> None:
    if not may_administer(principal):
        raise Forbidden("only the district administrator may do this", field="role")
