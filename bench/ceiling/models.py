from django.db import models


class CeilingHit(models.Model):
    """One row per ceiling request: the least work an authenticated write can do."""

    client = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.client} {self.created_at:%H:%M:%S}"
