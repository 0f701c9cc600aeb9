"""The OpenAPI 3.1 document of the read-only JSON API (/api/v1): every endpoint, its parameters
and the schema of every answer. The API's tests validate each response against these schemas,
and /api/v1/docs is rendered from this same document, so what is documented is what is served.
"""

from __future__ import annotations

from typing import Any

from forum.api import PAGE_MAX, PER_PAGE, PER_PAGE_MAX
from forum.i18n import N_
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

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": {"type": "string"}, "parameter": _NULL_STR}),
    "Area": _obj({"id": {"type": "integer"}, "name": {"type": "string"},
                  "kind": {"type": "string", "enum": [k.value for k in AreaKind]}, "parent_id": _NULL_INT,
                  "slug": {"type": "string"}, "archived": {"type": "boolean"}}),
    "Issue": _obj(_ISSUE),
    "Event": _obj({"at": _WHEN, "action": {"type": "string"}, "from_status": _NULL_STR,
                   "to_status": {"type": "string"}, "note": {"type": "string"}, "meeting_id": _NULL_INT}),
    "IssueDetail": _obj(_ISSUE | {
        "timeline": {"type": "array", "items": _ref("Event")},
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


def _answer(schema: str, description: str, *, missing: bool = False) -> dict[str, Any]:
    json_of = {"application/json": {"schema": _ref(schema)}}
    out = {"200": {"description": description, "content": json_of},
           "400": {"description": "a query parameter forum cannot use", "content": {
               "application/json": {"schema": _ref("Error")}}}}
    if missing:
        out["404"] = {"description": "no such object", "content": {"application/json": {"schema": _ref("Error")}}}
    return out


def _get(operation: str, summary: str, parameters: list, schema: str, *, missing: bool = False) -> dict[str, Any]:
    return {"get": {"operationId": operation, "summary": summary, "parameters": parameters,
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
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "forum public record", "version": "1",
                 "description": "Read-only data of forum's public record: areas, issues with their timelines, "
                                "meetings with agendas and decisions, vote results. Nothing personal: no names "
                                "of residents, phones, rooms, or who voted what."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
