"""The worker's own periodic job: finished jobs are forgotten after a week."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from app.db import utcnow
from app.worker.models import Job, JobStatus
from app.worker.registry import JobContext, job
from app.worker.schedule import every

KEEP_DONE = timedelta(days=7)


@job("worker.forget_done")
async def forget_done(ctx: JobContext) -> None:
    """Parked jobs stay until someone looks at them; done ones go after ``KEEP_DONE``."""
    await ctx.session.execute(
        delete(Job).where(
            Job.status == JobStatus.done.value, Job.finished_at < utcnow() - KEEP_DONE
        )
    )


every("worker.forget_done", 3600)
