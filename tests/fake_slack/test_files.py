"""files_upload_v2 (getUploadURLExternal, the upload URL, completeUploadExternal)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import REPORTS

CSV = "project,branch,idle_days\np-1,dev-old,45\n"


def test_upload_in_a_thread_records_name_content_and_thread(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    report = slack_web_client.chat_postMessage(channel=REPORTS.id, text="Neon report")
    answer = slack_web_client.files_upload_v2(
        channel=REPORTS.id,
        thread_ts=report["ts"],
        filename="report.csv",
        content=CSV,
        title="Neon findings",
        initial_comment="All findings",
    )
    assert answer["file"]["title"] == "Neon findings"
    (uploaded,) = fake_slack.log.files()
    assert uploaded.id == answer["file"]["id"]
    assert (uploaded.filename, uploaded.content) == ("report.csv", CSV.encode())
    assert uploaded.length == len(CSV.encode())
    assert (uploaded.channel_id, uploaded.thread_ts) == (REPORTS.id, report["ts"])
    assert uploaded.completed
    steps = [call.method for call in fake_slack.log.calls()]
    assert steps == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


def test_the_shared_file_shows_in_the_thread_not_the_channel(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    report = slack_web_client.chat_postMessage(channel=REPORTS.id, text="Neon report")
    slack_web_client.files_upload_v2(
        channel=REPORTS.id, thread_ts=report["ts"], filename="report.csv", content=CSV
    )
    thread = slack_web_client.conversations_replies(channel=REPORTS.id, ts=report["ts"])
    assert [m.get("files", [{}])[0].get("name") for m in thread["messages"]] == [
        None,
        "report.csv",
    ]
    history = slack_web_client.conversations_history(channel=REPORTS.id)
    assert [m["text"] for m in history["messages"]] == ["Neon report"]


def test_a_channel_name_is_not_a_channel_id(slack_web_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.files_upload_v2(
            channel=f"#{REPORTS.name}", filename="report.csv", content=CSV
        )
    assert failure.value.response["error"] == "channel_not_found"


def test_several_files_at_once(slack_web_client: WebClient, fake_slack: FakeSlack) -> None:
    answer = slack_web_client.files_upload_v2(
        channel=REPORTS.id,
        file_uploads=[
            {"filename": "a.csv", "content": "a\n"},
            {"filename": "b.csv", "content": b"b\n", "title": "B"},
        ],
    )
    assert [f["title"] for f in answer["files"]] == ["a.csv", "B"]
    assert sorted(f.content or b"" for f in fake_slack.log.files()) == [b"a\n", b"b\n"]


def test_completing_without_sending_the_bytes_is_file_not_found(
    slack_web_client: WebClient,
) -> None:
    issued = slack_web_client.files_getUploadURLExternal(filename="x.csv", length=3)
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.files_completeUploadExternal(
            files=[{"id": issued["file_id"]}], channel_id=REPORTS.id
        )
    assert failure.value.response["error"] == "file_not_found"


def test_an_upload_url_the_fake_never_issued_is_404(fake_slack: FakeSlack) -> None:
    request = urllib.request.Request(
        f"{fake_slack.http_root}/upload/v1/nope", data=b"x", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    assert failure.value.code == 404
    failure.value.close()
