"""Background work on the task queue (ADR 0015): the tasks, the scheduler that enqueues them and
``careweave worker`` that runs both. The queue is Django's tasks framework (the ``django-tasks``
backport); its database backend is the embedded default, so the demo needs no other service."""
