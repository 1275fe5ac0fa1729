"""A list page's tabs (complaints, exposures, meetings' items, enforcement cases): `?view=`
names one of the page's views, anything else shows the default, "open", whose tab has no
query."""

from __future__ import annotations

from starlette.requests import Request

from services.console.web import chosen_view, templates

VIEWS = {"open": "未办结", "late": "逾期", "done": "已办结"}


def asking(query: str) -> Request:
    return Request({"type": "http", "query_string": query.encode(), "headers": []})


def test_the_view_asked_for_or_the_default() -> None:
    assert chosen_view(asking("view=late"), VIEWS) == "late"
    assert chosen_view(asking(""), VIEWS) == "open"
    assert chosen_view(asking("view=nonsense"), VIEWS) == "open"


def test_the_tabs_link_each_view_and_mark_the_one_shown() -> None:
    tabs = templates.env.from_string(
        '{% from "_macros.html" import view_tabs %}'
        '{{ view_tabs("议定事项筛选", "/staff/meetings", views, view) }}'
    ).render(views=VIEWS, view="late")
    assert '<nav class="tabs" aria-label="议定事项筛选">' in tabs
    assert '<a href="/staff/meetings" >未办结</a>' in tabs
    assert '<a href="/staff/meetings?view=late" aria-current="page">逾期</a>' in tabs
    assert '<a href="/staff/meetings?view=done" >已办结</a>' in tabs
