from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from django_q.signals import pre_execute

        from payments.queue import bind_task_context

        pre_execute.connect(bind_task_context, dispatch_uid="payments.bind_task_context")
