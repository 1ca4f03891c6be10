"""core.db: asynchronous commits for bookkeeping writes."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import asynchronous_commit
from core.models import OutboxMessage


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_writes_in_the_block_commit_asynchronously_in_the_same_round_trip():
    # when
    with CaptureQueriesContext(connection) as queries, asynchronous_commit():
        setting = _synchronous_commit()
        message = OutboxMessage.objects.create(task_name="core.worker_heartbeat", kwargs={"a": 1})
        updated = OutboxMessage.objects.filter(pk=message.pk).update(attempts=3)
    # then: each statement ran with the setting, as one statement, and gave its own result
    assert setting == "off"
    assert len(queries) == 3
    assert message.pk is not None and updated == 1
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 3
    # and the setting ended with the statement
    assert _synchronous_commit() == "on"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_outer_commit_decides():
    with transaction.atomic(), asynchronous_commit():
        assert _synchronous_commit() == "on"
        OutboxMessage.objects.create(task_name="core.worker_heartbeat", kwargs={})
    assert OutboxMessage.objects.count() == 1
