import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("record", "0006_allergy_flag"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReferralTask",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "focus_id",
                    models.CharField(blank=True, help_text="The ServiceRequest's logical id.", max_length=64),
                ),
                ("code_system", models.CharField(blank=True, max_length=255)),
                ("code", models.CharField(blank=True, max_length=64)),
                ("is_validation", models.BooleanField(default=False)),
                ("status", models.CharField(blank=True, max_length=32)),
                ("business_status", models.CharField(blank=True, max_length=32)),
                ("status_reason_code", models.CharField(blank=True, max_length=64)),
                ("status_reason_display", models.CharField(blank=True, max_length=255)),
                ("authored_on", models.DateField(blank=True, null=True)),
                (
                    "last_modified",
                    models.DateField(blank=True, help_text="When the business state was set.", null=True),
                ),
                (
                    "outputs",
                    models.CharField(
                        blank=True,
                        help_text="Task.output references ('Type/id'), space-separated.",
                        max_length=1024,
                    ),
                ),
                (
                    "owner_organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="record.organisation",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="referral_tasks",
                        to="record.person",
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tasks",
                        to="record.referral",
                    ),
                ),
                (
                    "requester_organisation",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="record.organisation",
                    ),
                ),
                (
                    "resource",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="record.storedresource",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["focus_id"], name="referral_task_focus"),
                    models.Index(fields=["person", "focus_id"], name="referral_task_person_focus"),
                ],
            },
        ),
    ]
