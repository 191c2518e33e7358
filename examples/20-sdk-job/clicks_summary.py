"""A job that uses only the SDK: read the clicks alice produced to p1.clicks, look up each page's
section in the dataset file reference/pages.csv, write a Parquet summary into the p1 dataset
`summaries`, and send one summary record to p1.click-summaries.

No endpoint, certificate path or schema appears here: inside a GpuJob the platform injects them
(LULEA_*), on a laptop `lulea login --project p1` saved them. Run it either way:

    python examples/20-sdk-job/clicks_summary.py            # after `lulea login --project p1`
"""

from __future__ import annotations

import collections
import datetime as dt
import io
import os

import pandas as pd

import lulea.sdk

IDLE_SECONDS = float(os.environ.get("CLICKS_IDLE_SECONDS", "10"))  # stop when the topic is quiet
PAGES = os.environ.get("CLICKS_PAGES", "reference/pages.csv")  # a file in one of p1's datasets


def main() -> None:
    project = lulea.sdk.login()
    me = project.whoami()
    print(f"summarising {project.kafka.topic('clicks')} as {me.principal} (job {me.job or 'laptop'})")

    with project.datasets.open(PAGES, "rb") as f:  # WebHDFS OPEN, with the member's certificate
        sections = dict(pd.read_csv(f).itertuples(index=False, name=None))
    print(f"read {len(sections)} pages from {PAGES}")

    per_url: collections.Counter[str] = collections.Counter()
    users: set[str] = set()
    with project.kafka.consumer("clicks", group="clicks-summary") as clicks:
        for click in clicks.records(idle=IDLE_SECONDS):
            per_url[click["url"]] += 1
            users.add(click["user"])
    total = sum(per_url.values())
    print(f"read {total} clicks from {len(users)} users on {len(per_url)} pages")

    frame = pd.DataFrame([(url, sections.get(url, "other"), n) for url, n in sorted(per_url.items())],
                         columns=["url", "section", "clicks"])
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = f"summaries/clicks-{stamp}.parquet"
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    with project.datasets.open(path, "wb") as out:
        out.write(buffer.getvalue())
    print(f"wrote {path} ({len(frame)} rows)")

    with project.kafka.producer("click-summaries") as summaries:
        summaries.send({"path": path, "clicks": total, "users": len(users), "pages": len(per_url)})
    print("sent the summary to", project.kafka.topic("click-summaries"))


if __name__ == "__main__":
    main()
