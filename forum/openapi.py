"""The OpenAPI 3.1 document of the read-only JSON API (/api/v1): every endpoint, its parameters
and the schema of every answer. The API's tests validate each response against these schemas,
and /api/v1/docs is rendered from this same document, so what is documented is what is served.
"""

from __future__ import annotations

from typing import Any

from forum.api import ACTION_STATUSES, OWNER_KINDS, PAGE_MAX, PER_PAGE, PER_PAGE_MAX
from forum.followup import Status as ActionStatus
from forum.i18n import LANGUAGES, N_
from forum.lifecycle import Status
from forum.models import CATEGORIES, AreaKind

_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_WHEN = {"type": ["string", "null"], "description": "local time, ISO 8601 to the minute"}


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "additionalProperties": False,
            "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page_of(name: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": _ref(name)}, "page": {"type": "integer", "minimum": 1},
                 "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX},
                 "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 1}})


_ISSUE = {
    "id": {"type": "integer"}, "community_id": {"type": "integer"}, "committee_id": _NULL_INT,
    "title": {"type": "string"}, "description": {"type": "string"},
    "category": {"type": "string", "enum": sorted(CATEGORIES)}, "place": {"type": "string"},
    "source": {"type": "string"}, "status": {"type": "string", "enum": [s.value for s in Status]},
    "open": {"type": "boolean", "description": "not reviewed, declined or merged"},
    "merged_into_id": _NULL_INT, "raised_at": _WHEN, "resolved_at": _WHEN, "updated_at": _WHEN,
}
_MEETING = {
    "id": {"type": "integer"}, "community_id": {"type": "integer"}, "series_id": _NULL_INT,
    "title": {"type": "string"}, "cadence": {"type": "string"}, "starts_at": _WHEN,
    "duration_minutes": {"type": "integer"}, "place": {"type": "string"}, "status": {"type": "string"},
    "started_at": _WHEN, "ended_at": _WHEN,
    "attendance": {"type": "integer", "minimum": 0, "description": "参与人次: people who attended"},
}

_ACTION = {
    "id": {"type": "integer"}, "issue_id": {"type": "integer"}, "community_id": {"type": "integer"},
    "meeting_id": _NULL_INT, "what": {"type": "string"},
    "owner": _obj({"kind": {"type": "string", "enum": list(OWNER_KINDS)},
                   "id": {**_NULL_INT, "description": "the committee's or organisation's id; null for a person"},
                   "name": {**_NULL_STR,
                            "description": "a committee's or organisation's name; a person is never named"}}),
    "due": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": [s.value for s in ActionStatus]},
    "overdue": {"type": "boolean", "description": "past its due day and not done, as of the answer"},
    "created_at": _WHEN, "updated_at": _WHEN, "done_at": _WHEN,
}

SCHEMAS: dict[str, Any] = {
    "Problem": _obj({"type": {"type": "string"}, "title": {"type": "string"},
                     "status": {"type": "integer", "minimum": 400, "maximum": 599},
                     "detail": {"type": "string", "description": "what went wrong, in the reader's language"},
                     "error": {"type": "string", "description": "the same as detail (kept for the first clients)"},
                     "parameter": {**_NULL_STR, "description": "the query parameter at fault, if one is"}}),
    "Area": _obj({"id": {"type": "integer"}, "name": {"type": "string"},
                  "kind": {"type": "string", "enum": [k.value for k in AreaKind]}, "parent_id": _NULL_INT,
                  "slug": {"type": "string"}, "archived": {"type": "boolean"}}),
    "Issue": _obj(_ISSUE),
    "Event": _obj({"at": _WHEN, "action": {"type": "string"}, "from_status": _NULL_STR,
                   "to_status": {"type": "string"}, "note": {"type": "string"}, "meeting_id": _NULL_INT}),
    "Action": _obj(_ACTION),
    "IssueDetail": _obj(_ISSUE | {
        "timeline": {"type": "array", "items": _ref("Event")},
        "actions": {"type": "array", "items": _ref("Action")},
        "meetings": {"type": "array", "items": _obj({"meeting_id": {"type": "integer"}, "title": {"type": "string"},
                                                     "starts_at": _WHEN, "decision": _NULL_STR})}}),
    "Meeting": _obj(_MEETING),
    "AgendaEntry": _obj({"position": {"type": "integer", "minimum": 1}, "issue_id": {"type": "integer"},
                         "issue_title": {"type": "string"}, "planned_minutes": {"type": "integer"},
                         "decision": _NULL_STR}),
    "MeetingDetail": _obj(_MEETING | {"agenda": {"type": "array", "items": _ref("AgendaEntry")},
                                      "vote_ids": {"type": "array", "items": {"type": "integer"}}}),
    "Vote": _obj({
        "id": {"type": "integer"}, "community_id": {"type": "integer"}, "meeting_id": _NULL_INT,
        "issue_id": _NULL_INT, "question": {"type": "string"}, "kind": {"type": "string"},
        "rule": {"type": "string"}, "scope": {"type": "string"}, "counting_unit": {"type": "string"},
        "secret": {"type": "boolean"}, "status": {"type": "string", "enum": ["open", "closed"]},
        "opened_at": _WHEN, "closed_at": _WHEN, "ballots": {"type": "integer", "minimum": 0},
        "result": {"type": ["object", "null"],
                   "description": "the counted result once closed: totals per choice, the rule's comparisons"}}),
    "AreaPage": _page_of("Area"),
    "IssuePage": _page_of("Issue"),
    "MeetingPage": _page_of("Meeting"),
    "VotePage": _page_of("Vote"),
    "ActionPage": _page_of("Action"),
}


def _param(name: str, description: str, schema: dict[str, Any], where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description, "schema": schema}


_PAGING = [
    _param("page", N_("page number"), {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 1}),
    _param("per_page", N_("items per page"), {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX,
                                          "default": PER_PAGE}),
]
_COMMUNITY = _param("community", N_("a community's address name (slug)"), {"type": "string"})
_ID = _param("id", N_("the object's id"), {"type": "integer", "minimum": 0}, "path")
_DATE = {"type": "string", "format": "date"}


_LANGUAGE = [
    _param("lang", N_("the language of messages (else the Accept-Language header; Chinese by default)"),
           {"type": "string", "enum": list(LANGUAGES)}),
    _param("Accept-Language", N_("the reader's languages, as browsers send them"), {"type": "string"}, "header"),
]
_PROBLEM = {"application/problem+json": {"schema": _ref("Problem")}}


def _answer(schema: str, description: str, *, missing: bool = False) -> dict[str, Any]:
    out = {"200": {"description": description, "content": {"application/json": {"schema": _ref(schema)}}},
           "400": {"description": "a query parameter forum cannot use", "content": _PROBLEM},
           "405": {"description": "the API only reads: GET", "content": _PROBLEM}}
    if missing:
        out["404"] = {"description": "no such object", "content": _PROBLEM}
    return out


def _get(operation: str, summary: str, parameters: list, schema: str, *, missing: bool = False) -> dict[str, Any]:
    return {"get": {"operationId": operation, "summary": summary, "parameters": parameters + _LANGUAGE,
                    "responses": _answer(schema, summary, missing=missing)}}


PATHS: dict[str, Any] = {
    "/api/v1/areas": _get("areas", N_("The area tree: districts, streets, communities"), _PAGING, "AreaPage"),
    "/api/v1/issues": _get("issues", N_("Issues, oldest first"), [
        _COMMUNITY,
        _param("status", N_("a status, or 'open'"), {"type": "string", "enum": [s.value for s in Status] + ["open"]}),
        _param("category", N_("a category"), {"type": "string", "enum": sorted(CATEGORIES)}),
        _param("committee", N_("a committee's id"), {"type": "integer", "minimum": 1}),
        _param("raised_from", N_("raised on or after this day"), _DATE),
        _param("raised_to", N_("raised on or before this day"), _DATE),
        *_PAGING], "IssuePage"),
    "/api/v1/issues/{id}": _get("issue", N_("An issue with its timeline and the meetings that took it up"), [_ID],
                                "IssueDetail", missing=True),
    "/api/v1/meetings": _get("meetings", N_("Meetings, earliest first, with their attendance"), [
        _COMMUNITY, _param("series", N_("a series' id"), {"type": "integer", "minimum": 1}),
        _param("from", N_("starting on or after this day"), _DATE),
        _param("to", N_("starting on or before this day"), _DATE),
        *_PAGING], "MeetingPage"),
    "/api/v1/meetings/{id}": _get("meeting", N_("A meeting with its agenda and decisions"), [_ID], "MeetingDetail",
                                  missing=True),
    "/api/v1/votes": _get("votes", N_("Votes that have opened (secret ones as totals only)"), [
        _COMMUNITY, _param("meeting", N_("a meeting's id"), {"type": "integer", "minimum": 1}), *_PAGING], "VotePage"),
    "/api/v1/votes/{id}": _get("vote", N_("A vote and, once closed, its result"), [_ID], "Vote", missing=True),
    "/api/v1/actions": _get("actions", N_("Follow-up actions, oldest first (a person owning one is not named)"), [
        _COMMUNITY,
        _param("status", N_("a status, or 'unfinished' (not done)"),
               {"type": "string", "enum": sorted(ACTION_STATUSES)}),
        _param("overdue", N_("'true': only overdue actions, 'false': none of them"),
               {"type": "string", "enum": ["true", "false"]}),
        _param("issue", N_("an issue's id"), {"type": "integer", "minimum": 1}),
        *_PAGING], "ActionPage"),
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "forum public record", "version": "1",
                 "description": "Read-only data of forum's public record: areas, issues with their timelines, "
                                "meetings with agendas and decisions, vote results, follow-up actions. Nothing "
                                "personal: no names of residents or of persons owning actions, phones, rooms, "
                                "or who voted what. Mistakes are answered as problem details (RFC 9457) in "
                                "Chinese, or in English with ?lang=en or Accept-Language: en."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
