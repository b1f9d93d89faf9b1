from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("record", "0004_care_relationship")]

    operations = [
        migrations.AddField(
            model_name="storedresource",
            name="author_organisation",
            field=models.BigIntegerField(
                blank=True, null=True, help_text="Organisation of the member of staff who wrote it through the API."
            ),
        ),
        migrations.AddField(
            model_name="storedresource",
            name="written_under_break_glass",
            field=models.BooleanField(default=False),
        ),
    ]
