"""The household register (户籍/业主名册): units, their floor areas and owners, and its import.

Not to be confused with the issue registry (``forum.issue_registry``). The register is what
owners' votes are counted from, so an import is all or nothing:

    file     reading and checking a CSV as a community office saves it (``parse``)
    plan     what an import would change (``plan_import``), written in one transaction (``apply_plan``)
    journal  the same written in short transactions, rolled forward after a crash (``apply_journaled``,
             ``import_file``, ``resume_imports``)

An import is planned first (nothing written) so the office sees a preview, then applied: by
``apply_plan`` in the caller's transaction, or by ``apply_journaled`` in short transactions, as
the upload, the command and ``import_file`` do. Importing the same file twice changes nothing.
The names below are the way in; tuning (``journal.CHUNK_ROWS``, ``journal.STALE_SECONDS``) stays
in its module.
"""

from __future__ import annotations

from forum.household_register.file import (
    HouseholdRow,
    ImportRefused,
    RowError,
    decode,
    parse,
    parse_developer_held,
    parse_floor_area,
)
from forum.household_register.journal import (
    ImportBusy,
    active_import,
    apply_journaled,
    import_file,
    journal_steps,
    resume_imports,
)
from forum.household_register.plan import ImportResult, Plan, apply_plan, import_rows, mask_phone, plan_import

__all__ = [
    "HouseholdRow", "ImportBusy", "ImportRefused", "ImportResult", "Plan", "RowError",
    "active_import", "apply_journaled", "apply_plan", "decode", "import_file", "import_rows", "journal_steps",
    "mask_phone", "parse", "parse_developer_held", "parse_floor_area", "plan_import", "resume_imports",
]
